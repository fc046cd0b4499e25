// AES-256-GCM call sequences of one frame, per seal and per open, for issue
// 13's comparison of vetted implementations
// (Engine.Bench/results/aead/README.md has the commands and the table).
//
//   aead_micro MODE SIZE ITERATIONS [REPS]
//
// MODE: evp-seal | evp-open        OpenSSL 3 EVP, one keyed context reused
// (FrameCipher's sequence:
//                                  set IV, AAD update, data update, final, tag
//                                  as a parameter)
//       sodium-seal | sodium-open  libsodium
//       crypto_aead_aes256gcm_*_detached_afternm on a
//                                  precomputed state (beforenm once)
//       nettle-seal | nettle-open  Nettle gcm_aes256_* (key set once; per frame
//       set_iv, update,
//                                  encrypt/decrypt, digest)
//       gcrypt-seal | gcrypt-open  libgcrypt gcry_cipher_* (GCM handle keyed
//       once; per frame
//                                  setiv, authenticate, encrypt/decrypt,
//                                  gettag/checktag)
//       frame-seal | frame-open    the plugin's own FrameCipher through
//       libekvfs_testhooks.so
//                                  (ekv_bench_seal/open: header, CSPRNG nonce,
//                                  pooled cipher)
// SIZE: plaintext bytes; AAD is 37 bytes (the plugin's frame AAD size), nonce
// 12, tag 16. ITERATIONS frames per repetition. With REPS > 0 prints the median
// ns per frame of REPS timed repetitions; with REPS = 0 just runs ITERATIONS
// once (for callgrind: Ir per frame is the difference of two runs' totals
// divided by the difference of ITERATIONS). No AES or GHASH here: every byte of
// cryptography is the libraries'.
#include <gcrypt.h>
#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ekvfs_testhooks.h"

namespace {

constexpr size_t kAad = 37, kNonce = 12, kTag = 16;
uint8_t g_key[32], g_aad[kAad], g_nonce[kNonce];

void Bump(uint8_t *nonce) { // a different nonce per frame, as the plugin uses
  for (size_t i = 0; i < kNonce && ++nonce[i] == 0; ++i) {
  }
}

void Fail(const char *what) {
  std::fprintf(stderr, "%s failed\n", what);
  std::exit(2);
}

struct Evp {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  explicit Evp(bool enc) {
    EVP_CIPHER *gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (EVP_CipherInit_ex(c, gcm, nullptr, g_key, nullptr, enc ? 1 : 0) != 1)
      Fail("evp key");
  }
  void Seal(const uint8_t *p, size_t n, uint8_t *out) {
    int len = 0;
    OSSL_PARAM tag[2] = {OSSL_PARAM_construct_octet_string(
                             OSSL_CIPHER_PARAM_AEAD_TAG, out + n, kTag),
                         OSSL_PARAM_construct_end()};
    if (!(EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, g_nonce, 1) == 1 &&
          EVP_EncryptUpdate(c, nullptr, &len, g_aad, kAad) == 1 &&
          (n == 0 ||
           EVP_EncryptUpdate(c, out, &len, p, static_cast<int>(n)) == 1) &&
          EVP_EncryptFinal_ex(c, out + n, &len) == 1 &&
          EVP_CIPHER_CTX_get_params(c, tag) == 1))
      Fail("evp seal");
  }
  void Open(const uint8_t *in, size_t n, uint8_t *out) {
    int len = 0;
    uint8_t t[kTag];
    std::memcpy(t, in + n, kTag);
    OSSL_PARAM tag[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, t, kTag),
        OSSL_PARAM_construct_end()};
    if (!(EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, g_nonce, 0) == 1 &&
          EVP_DecryptUpdate(c, nullptr, &len, g_aad, kAad) == 1 &&
          (n == 0 ||
           EVP_DecryptUpdate(c, out, &len, in, static_cast<int>(n)) == 1) &&
          EVP_CIPHER_CTX_set_params(c, tag) == 1 &&
          EVP_DecryptFinal_ex(c, out + n, &len) == 1))
      Fail("evp open");
  }
};

struct Sodium {
  crypto_aead_aes256gcm_state *st;
  Sodium() {
    if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() != 1)
      Fail("sodium aes-gcm");
    st = static_cast<crypto_aead_aes256gcm_state *>(
        std::aligned_alloc(16, sizeof(crypto_aead_aes256gcm_state)));
    crypto_aead_aes256gcm_beforenm(st, g_key);
  }
  void Seal(const uint8_t *p, size_t n, uint8_t *out) {
    if (crypto_aead_aes256gcm_encrypt_detached_afternm(out, out + n, nullptr, p,
                                                       n, g_aad, kAad, nullptr,
                                                       g_nonce, st) != 0)
      Fail("sodium seal");
  }
  void Open(const uint8_t *in, size_t n, uint8_t *out) {
    if (crypto_aead_aes256gcm_decrypt_detached_afternm(
            out, nullptr, in, n, in + n, g_aad, kAad, g_nonce, st) != 0)
      Fail("sodium open");
  }
};

struct Nettle {
  gcm_aes256_ctx ctx;
  Nettle() { gcm_aes256_set_key(&ctx, g_key); }
  void Seal(const uint8_t *p, size_t n, uint8_t *out) {
    gcm_aes256_set_iv(&ctx, kNonce, g_nonce);
    gcm_aes256_update(&ctx, kAad, g_aad);
    gcm_aes256_encrypt(&ctx, n, out, p);
    gcm_aes256_digest(&ctx, kTag, out + n);
  }
  void Open(const uint8_t *in, size_t n, uint8_t *out) {
    uint8_t t[kTag];
    gcm_aes256_set_iv(&ctx, kNonce, g_nonce);
    gcm_aes256_update(&ctx, kAad, g_aad);
    gcm_aes256_decrypt(&ctx, n, out, in);
    gcm_aes256_digest(&ctx, kTag, t);
    if (!memeql_sec(t, in + n, kTag))
      Fail("nettle open");
  }
};

struct Gcrypt {
  gcry_cipher_hd_t h;
  Gcrypt() {
    if (!gcry_check_version(GCRYPT_VERSION))
      Fail("gcrypt version");
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0) ||
        gcry_cipher_setkey(h, g_key, 32))
      Fail("gcrypt key");
  }
  void Seal(const uint8_t *p, size_t n, uint8_t *out) {
    if (gcry_cipher_setiv(h, g_nonce, kNonce) ||
        gcry_cipher_authenticate(h, g_aad, kAad) || gcry_cipher_final(h) ||
        gcry_cipher_encrypt(h, out, n, p, n) ||
        gcry_cipher_gettag(h, out + n, kTag))
      Fail("gcrypt seal");
  }
  void Open(const uint8_t *in, size_t n, uint8_t *out) {
    if (gcry_cipher_setiv(h, g_nonce, kNonce) ||
        gcry_cipher_authenticate(h, g_aad, kAad) || gcry_cipher_final(h) ||
        gcry_cipher_decrypt(h, out, n, in, n) ||
        gcry_cipher_checktag(h, in + n, kTag))
      Fail("gcrypt open");
  }
};

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: aead_micro MODE SIZE ITERATIONS [REPS]\n");
    return 1;
  }
  const std::string mode = argv[1];
  const size_t n = std::strtoul(argv[2], nullptr, 10);
  const long iters = std::strtol(argv[3], nullptr, 10);
  const int reps = argc > 4 ? std::atoi(argv[4]) : 0;
  for (size_t i = 0; i < 32; ++i)
    g_key[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t i = 0; i < kAad; ++i)
    g_aad[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> plain(n, 'x'), sealed(n + kTag + 64), out(n + 64);

  auto run = [&](auto &&once) {
    if (reps == 0) {
      for (long i = 0; i < iters; ++i)
        once();
      return;
    }
    std::vector<double> ns;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < iters; ++i)
        once();
      auto t1 = std::chrono::steady_clock::now();
      ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() /
                   iters);
    }
    std::sort(ns.begin(), ns.end());
    std::printf(
        "%s %zu median_ns=%.1f min_ns=%.1f max_ns=%.1f reps=%d iters=%ld\n",
        mode.c_str(), n, ns[ns.size() / 2], ns.front(), ns.back(), reps, iters);
  };

  const std::string impl = mode.substr(0, mode.find('-'));
  const bool seal =
      mode.size() > 5 && mode.compare(mode.size() - 4, 4, "seal") == 0;
  auto bench = [&](auto &impl_seal, auto &impl_open) {
    if (seal) {
      run([&] {
        Bump(g_nonce);
        impl_seal.Seal(plain.data(), n, sealed.data());
      });
    } else {
      impl_seal.Seal(plain.data(), n, sealed.data());
      run([&] { impl_open.Open(sealed.data(), n, out.data()); });
    }
  };
  if (impl == "evp") {
    Evp e(true), d(false);
    bench(e, d);
  } else if (impl == "sodium") {
    Sodium s;
    bench(s, s);
  } else if (impl == "nettle") {
    Nettle s;
    bench(s, s);
  } else if (impl == "gcrypt") {
    Gcrypt s;
    bench(s, s);
  } else if (impl == "frame") {
    std::vector<uint8_t> frame(n + 40);
    if (ekv_bench_seal(g_key, plain.data(), n, frame.data(), 1) != 0)
      Fail("frame seal");
    // One call per repetition seals/opens ITERATIONS frames with one
    // FrameCipher, so the cipher's setup is amortized (and removed by the
    // callgrind difference).
    auto call = [&](long k) {
      const int32_t rc =
          seal ? ekv_bench_seal(g_key, plain.data(), n, frame.data(),
                                static_cast<int32_t>(k))
               : ekv_bench_open(g_key, frame.data(), frame.size(), out.data(),
                                static_cast<int32_t>(k));
      if (rc != 0)
        Fail("frame");
    };
    if (reps == 0) {
      call(iters);
    } else {
      std::vector<double> ns;
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        call(iters);
        auto t1 = std::chrono::steady_clock::now();
        ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() /
                     iters);
      }
      std::sort(ns.begin(), ns.end());
      std::printf(
          "%s %zu median_ns=%.1f min_ns=%.1f max_ns=%.1f reps=%d iters=%ld\n",
          mode.c_str(), n, ns[ns.size() / 2], ns.front(), ns.back(), reps,
          iters);
    }
  } else {
    Fail("unknown mode");
  }
  return 0;
}
