#include "frame_cipher.h"
#include "secure_wipe.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>

namespace ekv {

namespace {

// Fetched once: EVP_aes_256_gcm() would make OpenSSL 3 look the implementation up on every
// EVP_CipherInit_ex that passes a cipher.
const EVP_CIPHER* AesGcm() {
  static const EVP_CIPHER* cipher = [] {
    EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched != nullptr ? static_cast<const EVP_CIPHER*>(fetched) : EVP_aes_256_gcm();
  }();
  return cipher;
}

// Nonces come from OpenSSL's CSPRNG in batches: one RAND_bytes call costs ~2 us in OpenSSL 3
// (DRBG lookup, locking, reseed checks) against ~20 ns per nonce when 64 are drawn at once,
// and a WAL seals one frame per write group. Each thread keeps its own batch; every nonce in it
// is used once. A forked child would inherit the parent's unused nonces, so a fork discards all
// batches (the child handler bumps a generation that every batch checks).
std::atomic<uint64_t> g_fork_generation{0};

struct NonceBatch {
  static constexpr size_t kCount = 64;
  uint8_t bytes[kCount * kNonceSize];
  size_t next = kCount;  // empty
  uint64_t generation = 0;
};
thread_local NonceBatch t_nonces;

bool NextNonce(uint8_t out[kNonceSize]) {
  // Registered once (a function-local static's thread-safe initialisation): after the first call
  // this is one guard check, where std::call_once set two libstdc++ TLS variables on every call.
  static const int atfork_registered = pthread_atfork(
      nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
  (void)atfork_registered;
  NonceBatch& b = t_nonces;
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  if (b.next == NonceBatch::kCount || b.generation != gen) {
    if (RAND_bytes(b.bytes, sizeof(b.bytes)) != 1) {
      b.next = NonceBatch::kCount;
      return false;
    }
    b.next = 0;
    b.generation = gen;
  }
  std::memcpy(out, b.bytes + b.next * kNonceSize, kNonceSize);
  SecureWipe(b.bytes + b.next * kNonceSize, kNonceSize);  // never handed out twice
  ++b.next;
  return true;
}

std::string OpenSslError(const char* what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256];
  if (code == 0) return std::string(what) + " failed";
  ERR_error_string_n(code, buf, sizeof(buf));
  return std::string(what) + " failed: " + buf;
}

}  // namespace

SecretKey::SecretKey() { std::memset(bytes_, 0, sizeof(bytes_)); }
SecretKey::~SecretKey() { SecureWipe(bytes_, sizeof(bytes_)); }

FrameCipher::FrameCipher(const SecretKey& key, const uint8_t file_id[kFileIdSize],
                         std::shared_ptr<Stats> stats)
    : stats_(std::move(stats)) {
  std::memcpy(key_, key.data(), kDekSize);
  std::memcpy(file_id_, file_id, kFileIdSize);
  stats_->live_deks.fetch_add(1, std::memory_order_relaxed);
}

FrameCipher::~FrameCipher() {
  if (writer_ctx_ != nullptr) EVP_CIPHER_CTX_free(writer_ctx_);
  for (EVP_CIPHER_CTX* c : free_enc_) EVP_CIPHER_CTX_free(c);
  for (EVP_CIPHER_CTX* c : free_dec_) EVP_CIPHER_CTX_free(c);
  SecureWipe(key_, sizeof(key_));
  stats_->live_deks.fetch_sub(1, std::memory_order_relaxed);
}

EVP_CIPHER_CTX* FrameCipher::Acquire(bool encrypt, std::string* error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& pool = encrypt ? free_enc_ : free_dec_;
    if (!pool.empty()) {
      EVP_CIPHER_CTX* c = pool.back();
      pool.pop_back();
      return c;
    }
  }
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  if (c == nullptr ||
      EVP_CipherInit_ex(c, AesGcm(), nullptr, key_, nullptr, encrypt ? 1 : 0) != 1) {
    *error = OpenSslError("AES-256-GCM key setup");
    EVP_CIPHER_CTX_free(c);
    return nullptr;
  }
  return c;
}

void FrameCipher::Release(EVP_CIPHER_CTX* ctx, bool encrypt) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& pool = encrypt ? free_enc_ : free_dec_;
  try {
    pool.push_back(ctx);
  } catch (...) {
    EVP_CIPHER_CTX_free(ctx);  // could not grow the pool: just drop the context
  }
}

bool FrameCipher::RandomNonceBytes(uint8_t* out, size_t n) {
  if (n > kNonceSize) return false;
  uint8_t nonce[kNonceSize];
  if (!NextNonce(nonce)) return false;
  std::memcpy(out, nonce, n);
  SecureWipe(nonce, sizeof(nonce));
  return true;
}

bool FrameCipher::Seal(uint64_t index, bool final_frame, uint32_t sync_distance,
                       const uint8_t* plaintext, size_t n, uint8_t* out, std::string* error,
                       Payload payload) {
  EVP_CIPHER_CTX* c = Acquire(true, error);
  if (c == nullptr) return false;
  if (!SealWith(c, index, final_frame, sync_distance, plaintext, n, out, error, payload)) {
    EVP_CIPHER_CTX_free(c);  // state unknown: do not return it to the pool
    return false;
  }
  Release(c, true);
  return true;
}

template <class SealFn>
bool FrameCipher::WithWriterContext(std::string* error, SealFn seal) {
  if (writer_ctx_ == nullptr) {
    writer_ctx_ = Acquire(true, error);
    if (writer_ctx_ == nullptr) return false;
  }
  if (!seal(writer_ctx_)) {
    EVP_CIPHER_CTX_free(writer_ctx_);  // state unknown: key a fresh one next time
    writer_ctx_ = nullptr;
    return false;
  }
  return true;
}

bool FrameCipher::SealSerialized(uint64_t index, bool final_frame, uint32_t sync_distance,
                                 const uint8_t* plaintext, size_t n, uint8_t* out,
                                 std::string* error) {
  return WithWriterContext(error, [&](EVP_CIPHER_CTX* c) {
    return SealWith(c, index, final_frame, sync_distance, plaintext, n, out, error,
                    Payload::kEncrypted);
  });
}

bool FrameCipher::GcmSeal(EVP_CIPHER_CTX* c, const uint8_t* nonce, const uint8_t* aad,
                          size_t aad_len, const uint8_t* plaintext, size_t n, uint8_t* out,
                          uint8_t* tag_out, Payload payload, std::string* error) {
  int len = 0;
  // The tag is read as a provider parameter: EVP_CIPHER_CTX_ctrl(EVP_CTRL_GCM_GET_TAG) converts
  // the ctrl into the same parameter request first (OpenSSL 3), ~100 instructions per frame.
  OSSL_PARAM tag[2] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag_out, kTagSize),
      OSSL_PARAM_construct_end()};
  const bool clear = payload == Payload::kClear;
  bool ok = EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, 1) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &len, aad, static_cast<int>(aad_len)) == 1 &&
            (n == 0 ||
             EVP_EncryptUpdate(c, clear ? nullptr : out, &len, plaintext, static_cast<int>(n)) ==
                 1) &&
            EVP_EncryptFinal_ex(c, out + (clear ? 0 : n), &len) == 1 &&
            EVP_CIPHER_CTX_get_params(c, tag) == 1;
  if (!ok) {
    *error = OpenSslError("AES-256-GCM seal");
    return false;
  }
  if (clear && n > 0 && out != plaintext) std::memmove(out, plaintext, n);
  stats_->frames_sealed.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool FrameCipher::SealWith(EVP_CIPHER_CTX* c, uint64_t index, bool final_frame,
                           uint32_t sync_distance, const uint8_t* plaintext, size_t n, uint8_t* out,
                           std::string* error, Payload payload) {
  if (n > kMaxFrameSize) {
    *error = "frame too large";
    return false;
  }
  FrameHeader h;
  h.length = static_cast<uint32_t>(n);
  h.sync_distance = sync_distance;
  EncodeFrameHeader(file_id_, index, h, out);
  uint8_t* nonce = out + kFrameHeaderSize;
  uint8_t* ct = nonce + kNonceSize;
  if (!NextNonce(nonce)) {
    *error = OpenSslError("RAND_bytes for frame nonce");
    return false;
  }
  uint8_t aad[kFrameAadSize];
  EncodeFrameAad(file_id_, index, final_frame, h, aad);
  return GcmSeal(c, nonce, aad, sizeof(aad), plaintext, n, ct, ct + n, payload, error);
}

std::atomic<int> g_test_fail_compact_seals{0};

bool FrameCipher::SealCompact(const uint8_t nonce[kNonceSize], uint64_t position, uint32_t ordinal,
                              const uint8_t* plaintext, size_t n, uint8_t* out,
                              std::string* error) {
  if (g_test_fail_compact_seals.load(std::memory_order_relaxed) > 0) {
    g_test_fail_compact_seals.fetch_sub(1, std::memory_order_relaxed);
    *error = "AES-256-GCM seal failed (injected by a test)";
    return false;
  }
  if (n > kMaxFrameSize) {
    *error = "frame too large";
    return false;
  }
  FrameHeader h;
  h.length = static_cast<uint32_t>(n);
  h.sync_distance = ordinal;
  uint8_t aad[kFrameAadSize];
  EncodeFrameAad(file_id_, position, false, h, aad);
  return WithWriterContext(error, [&](EVP_CIPHER_CTX* c) {
    return GcmSeal(c, nonce, aad, sizeof(aad), plaintext, n, out, out + n, Payload::kEncrypted,
                   error);
  });
}

FrameCipher::OpenResult FrameCipher::GcmOpen(const uint8_t* nonce, const uint8_t* aad,
                                             size_t aad_len, const uint8_t* in, size_t n,
                                             const uint8_t* tag_in, uint8_t* plaintext,
                                             Payload payload, std::string* error) {
  EVP_CIPHER_CTX* c = Acquire(false, error);
  if (c == nullptr) return OpenResult::kError;
  uint8_t tag[kTagSize];
  std::memcpy(tag, tag_in, kTagSize);
  const bool clear = payload == Payload::kClear;
  int len = 0;
  OSSL_PARAM tag_param[2] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
      OSSL_PARAM_construct_end()};
  bool setup =
      EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, 0) == 1 &&
      EVP_DecryptUpdate(c, nullptr, &len, aad, static_cast<int>(aad_len)) == 1 &&
      (n == 0 ||
       EVP_DecryptUpdate(c, clear ? nullptr : plaintext, &len, in, static_cast<int>(n)) == 1) &&
      EVP_CIPHER_CTX_set_params(c, tag_param) == 1;
  if (!setup) {
    *error = OpenSslError("AES-256-GCM open");
    EVP_CIPHER_CTX_free(c);
    return OpenResult::kError;
  }
  // EVP_DecryptFinal_ex is where GCM compares the tag; failure here means tampering or a
  // torn write, never an internal error.
  if (EVP_DecryptFinal_ex(c, plaintext + (clear ? 0 : n), &len) != 1) {
    ERR_clear_error();
    Release(c, false);
    if (n > 0 && !clear) SecureWipe(plaintext, n);
    return OpenResult::kAuthFailed;
  }
  Release(c, false);
  if (clear && n > 0 && plaintext != in) std::memmove(plaintext, in, n);
  stats_->frames_opened.fetch_add(1, std::memory_order_relaxed);
  return OpenResult::kOk;
}

FrameCipher::OpenResult FrameCipher::Open(uint64_t index, bool final_frame, const uint8_t* in,
                                          size_t in_len, uint8_t* plaintext, std::string* error,
                                          uint32_t* sync_distance, Payload payload) {
  if (in_len < kFrameOverhead || in_len - kFrameOverhead > INT_MAX) {
    *error = "frame length out of range";
    return OpenResult::kError;
  }
  const size_t n = in_len - kFrameOverhead;
  FrameHeader h;
  if (!DecodeFrameHeader(file_id_, index, frame_size_, in, &h) || h.length != n) {
    return OpenResult::kAuthFailed;
  }
  const uint8_t* nonce = in + kFrameHeaderSize;
  const uint8_t* ct = nonce + kNonceSize;
  uint8_t aad[kFrameAadSize];
  EncodeFrameAad(file_id_, index, final_frame, h, aad);
  OpenResult r = GcmOpen(nonce, aad, sizeof(aad), ct, n, ct + n, plaintext, payload, error);
  if (r == OpenResult::kOk && sync_distance != nullptr) *sync_distance = h.sync_distance;
  return r;
}

FrameCipher::OpenResult FrameCipher::OpenCompact(const uint8_t nonce[kNonceSize],
                                                 uint64_t position, uint32_t ordinal,
                                                 const uint8_t* in, size_t in_len,
                                                 uint8_t* plaintext, std::string* error) {
  if (in_len < kCompactFrameOverhead || in_len - kCompactFrameOverhead > frame_size_) {
    *error = "frame length out of range";
    return OpenResult::kError;
  }
  const size_t n = in_len - kCompactFrameOverhead;
  FrameHeader h;
  h.length = static_cast<uint32_t>(n);
  h.sync_distance = ordinal;
  uint8_t aad[kFrameAadSize];
  EncodeFrameAad(file_id_, position, false, h, aad);
  return GcmOpen(nonce, aad, sizeof(aad), in, n, in + n, plaintext, Payload::kEncrypted, error);
}

}  // namespace ekv
