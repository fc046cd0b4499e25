// The "stock-ctr" baseline: RocksDB's own EncryptedEnv with its CTR encryption provider, given a
// real AES-256 block cipher (OpenSSL EVP, ECB on one 16-byte block per call, which is exactly the
// interface rocksdb::BlockCipher offers). This is what a RocksDB user gets "out of the box":
// unauthenticated, one key for the whole DB, one cipher call per 16 bytes.
//
// C ABI (all noexcept; no C++ exception leaves this library):
//   void* benchctr_env_create(const uint8_t key[32]);  // rocksdb_env_t* for DbOptions.SetEnv, or NULL
//   void  benchctr_env_destroy(void* env);             // after every DB using it is closed
//   uint64_t benchctr_block_calls(void* env);          // cipher calls so far (sanity check: > 0)
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include <rocksdb/env.h>
#include <rocksdb/env_encryption.h>

namespace {

// AES-256 on one block. RocksDB calls Encrypt/Decrypt concurrently from several threads, and an
// EVP_CIPHER_CTX is not thread-safe, so each thread keeps its own context, keyed once per cipher.
class Aes256BlockCipher final : public rocksdb::BlockCipher {
 public:
  explicit Aes256BlockCipher(const uint8_t* key) {
    std::memcpy(key_, key, sizeof(key_));
    id_ = next_id_.fetch_add(1);
  }
  ~Aes256BlockCipher() override { OPENSSL_cleanse(key_, sizeof(key_)); }

  const char* Name() const override { return "BenchAES256"; }
  size_t BlockSize() override { return 16; }

  // CTR mode only ever encrypts the counter block, but both directions are implemented honestly.
  rocksdb::Status Encrypt(char* data) override { return Run(data, true); }
  rocksdb::Status Decrypt(char* data) override { return Run(data, false); }

  uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  struct ThreadCtx {
    EVP_CIPHER_CTX* enc = nullptr;
    EVP_CIPHER_CTX* dec = nullptr;
    uint64_t owner = 0;
    ~ThreadCtx() {
      EVP_CIPHER_CTX_free(enc);
      EVP_CIPHER_CTX_free(dec);
    }
  };

  rocksdb::Status Run(char* data, bool encrypt) {
    thread_local ThreadCtx tc;
    if (tc.owner != id_) {  // first use on this thread, or a new cipher (new DB in the same run)
      EVP_CIPHER_CTX_free(tc.enc);
      EVP_CIPHER_CTX_free(tc.dec);
      tc.enc = EVP_CIPHER_CTX_new();
      tc.dec = EVP_CIPHER_CTX_new();
      if (tc.enc == nullptr || tc.dec == nullptr ||
          EVP_EncryptInit_ex(tc.enc, EVP_aes_256_ecb(), nullptr, key_, nullptr) != 1 ||
          EVP_DecryptInit_ex(tc.dec, EVP_aes_256_ecb(), nullptr, key_, nullptr) != 1) {
        tc.owner = 0;
        return rocksdb::Status::IOError("benchctr: cannot initialise AES-256-ECB");
      }
      EVP_CIPHER_CTX_set_padding(tc.enc, 0);
      EVP_CIPHER_CTX_set_padding(tc.dec, 0);
      tc.owner = id_;
    }
    unsigned char out[16];
    int len = 0;
    EVP_CIPHER_CTX* ctx = encrypt ? tc.enc : tc.dec;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &len, reinterpret_cast<unsigned char*>(data), 16)
                     : EVP_DecryptUpdate(ctx, out, &len, reinterpret_cast<unsigned char*>(data), 16);
    if (ok != 1 || len != 16) {
      return rocksdb::Status::IOError("benchctr: AES block operation failed");
    }
    std::memcpy(data, out, 16);
    calls_.fetch_add(1, std::memory_order_relaxed);
    return rocksdb::Status::OK();
  }

  static inline std::atomic<uint64_t> next_id_{1};
  uint8_t key_[32];
  uint64_t id_;
  std::atomic<uint64_t> calls_{0};
};

// == rocksdb_env_t in RocksDB's db/c.cc (private there; stable layout for years). Keep this the
// only place that knows it.
struct CEnvLayout {
  rocksdb::Env* rep;
  bool is_default;
};

struct BenchEnv;

// Standard layout with CEnvLayout first, so the rocksdb_env_t* handed out converts back to it.
struct EnvHandle {
  CEnvLayout c_env;
  BenchEnv* owner;
};

struct BenchEnv {
  EnvHandle handle{};
  std::shared_ptr<Aes256BlockCipher> cipher;
  std::unique_ptr<rocksdb::Env> env;
};

static_assert(std::is_standard_layout_v<EnvHandle>, "EnvHandle must start with rocksdb_env_t");

BenchEnv* FromHandle(void* env) { return reinterpret_cast<EnvHandle*>(env)->owner; }

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* benchctr_env_create(const uint8_t* key) noexcept {
  try {
    if (key == nullptr) return nullptr;
    auto bench = std::make_unique<BenchEnv>();
    bench->cipher = std::make_shared<Aes256BlockCipher>(key);
    std::shared_ptr<rocksdb::EncryptionProvider> provider =
        rocksdb::EncryptionProvider::NewCTRProvider(bench->cipher);
    bench->env.reset(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), provider));
    if (!bench->env) return nullptr;
    bench->handle.c_env.rep = bench->env.get();
    bench->handle.c_env.is_default = false;
    bench->handle.owner = bench.get();
    return &bench.release()->handle;
  } catch (...) {
    return nullptr;
  }
}

__attribute__((visibility("default"))) void benchctr_env_destroy(void* env) noexcept {
  if (env != nullptr) delete FromHandle(env);
}

__attribute__((visibility("default"))) uint64_t benchctr_block_calls(void* env) noexcept {
  return env == nullptr ? 0 : FromHandle(env)->cipher->calls();
}

}  // extern "C"
