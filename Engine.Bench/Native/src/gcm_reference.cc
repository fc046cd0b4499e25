// OpenSSL AES-256-GCM on one reused EVP context: the reference point for the frame micro
// benchmarks (what native sealing costs without the plugin around it). Not the plugin's code path:
// the plugin exposes no frame-level entry point yet, see Engine.Bench/README or the bench report.
//
//   void* benchctr_gcm_new(const uint8_t key[32]);
//   int   benchctr_gcm_seal(void* ctx, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
//                           const uint8_t* in, size_t len, uint8_t* out, uint8_t tag[16]);  // 0 = ok
//   int   benchctr_gcm_open(void* ctx, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
//                           const uint8_t* in, size_t len, const uint8_t tag[16], uint8_t* out); // 0 = ok
//   void  benchctr_gcm_free(void* ctx);
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace {

struct GcmContext {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
};

bool Init(EVP_CIPHER_CTX* ctx, const uint8_t* key, bool encrypt) {
  return encrypt ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1
                 : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* benchctr_gcm_new(const uint8_t* key) noexcept {
  auto* g = new (std::nothrow) GcmContext();
  if (g == nullptr) return nullptr;
  g->enc = EVP_CIPHER_CTX_new();
  g->dec = EVP_CIPHER_CTX_new();
  if (g->enc == nullptr || g->dec == nullptr || !Init(g->enc, key, true) || !Init(g->dec, key, false)) {
    EVP_CIPHER_CTX_free(g->enc);
    EVP_CIPHER_CTX_free(g->dec);
    delete g;
    return nullptr;
  }
  return g;
}

__attribute__((visibility("default"))) int benchctr_gcm_seal(void* ctx, const uint8_t* nonce,
                                                              const uint8_t* aad, size_t aad_len,
                                                              const uint8_t* in, size_t len,
                                                              uint8_t* out, uint8_t* tag) noexcept {
  auto* g = static_cast<GcmContext*>(ctx);
  int n = 0;
  // Key schedule stays; only the nonce is set per frame (the "reused context" of the baseline).
  if (EVP_EncryptInit_ex(g->enc, nullptr, nullptr, nullptr, nonce) != 1) return 1;
  if (aad_len > 0 && EVP_EncryptUpdate(g->enc, nullptr, &n, aad, static_cast<int>(aad_len)) != 1) return 1;
  if (EVP_EncryptUpdate(g->enc, out, &n, in, static_cast<int>(len)) != 1) return 1;
  if (EVP_EncryptFinal_ex(g->enc, out + n, &n) != 1) return 1;
  return EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 ? 0 : 1;
}

__attribute__((visibility("default"))) int benchctr_gcm_open(void* ctx, const uint8_t* nonce,
                                                              const uint8_t* aad, size_t aad_len,
                                                              const uint8_t* in, size_t len,
                                                              const uint8_t* tag, uint8_t* out) noexcept {
  auto* g = static_cast<GcmContext*>(ctx);
  int n = 0;
  if (EVP_DecryptInit_ex(g->dec, nullptr, nullptr, nullptr, nonce) != 1) return 1;
  if (aad_len > 0 && EVP_DecryptUpdate(g->dec, nullptr, &n, aad, static_cast<int>(aad_len)) != 1) return 1;
  if (EVP_DecryptUpdate(g->dec, out, &n, in, static_cast<int>(len)) != 1) return 1;
  if (EVP_CIPHER_CTX_ctrl(g->dec, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(tag)) != 1) return 1;
  return EVP_DecryptFinal_ex(g->dec, out + n, &n) == 1 ? 0 : 2;  // 2 = authentication failed
}

__attribute__((visibility("default"))) void benchctr_gcm_free(void* ctx) noexcept {
  auto* g = static_cast<GcmContext*>(ctx);
  if (g == nullptr) return;
  EVP_CIPHER_CTX_free(g->enc);
  EVP_CIPHER_CTX_free(g->dec);
  delete g;
}

}  // extern "C"
