// AES-256-GCM sealing and opening of frames under one file's DEK.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace ekv {

// Counters behind ekv_stats. Shared (via shared_ptr) by the env and every file object, so a
// file that outlives its env by mistake still has somewhere to count.
struct Stats {
  std::atomic<uint64_t> live_deks{0};
  std::atomic<uint64_t> files_created{0};
  std::atomic<uint64_t> files_opened{0};
  std::atomic<uint64_t> frames_sealed{0};
  std::atomic<uint64_t> frames_opened{0};
  std::atomic<uint64_t> integrity_failures{0};
  std::atomic<uint64_t> torn_tails{0};
};

// White-box tests only (never set by the plugin): while positive, each SealCompact call fails
// (as an OpenSSL error would) and decrements it; for the "a failed seal abandons the writer" test
// of format v4's nonce argument. Defined in frame_cipher.cc.
extern std::atomic<int> g_test_fail_compact_seals;

// A 32-byte key buffer that is cleansed when it goes out of scope. Used for DEKs in transit
// from the key callbacks to a FrameCipher.
class SecretKey {
 public:
  SecretKey();
  ~SecretKey();
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }

 private:
  uint8_t bytes_[kDekSize];
};

// Holds one file's DEK and the OpenSSL contexts keyed with it.
//
// Contexts are pooled per file instead of per thread: the expanded key schedule then lives
// exactly as long as the file object and is cleansed with it (EVP_CIPHER_CTX_free cleanses),
// rather than lingering in idle threads' contexts after the store locks. Each context is keyed
// once; per frame only the IV is set. RandomAccessFile::Read is concurrent, hence the pool.
class FrameCipher {
 public:
  enum class OpenResult { kOk, kAuthFailed, kError };

  FrameCipher(const SecretKey& key, const uint8_t file_id[kFileIdSize],
              std::shared_ptr<Stats> stats);
  ~FrameCipher();
  FrameCipher(const FrameCipher&) = delete;
  FrameCipher& operator=(const FrameCipher&) = delete;

  const uint8_t* file_id() const { return file_id_; }

  // What a frame's payload is: ciphertext, or (the v4 frame index) the plaintext itself,
  // authenticated as associated data after the frame AAD (GMAC) and stored in clear.
  enum class Payload { kEncrypted, kClear };

  // Seals n plaintext bytes as frame `index` into out[n + 40] (header || nonce || ciphertext ||
  // tag) with a fresh random nonce; `sync_distance` goes into the header (docs/format.md). On
  // failure returns false and sets *error.
  bool Seal(uint64_t index, bool final_frame, uint32_t sync_distance, const uint8_t* plaintext,
            size_t n, uint8_t* out, std::string* error, Payload payload = Payload::kEncrypted);

  // Format v4 data frames (frame_index.h): seals n plaintext bytes into out[n + 16] (ciphertext
  // || tag) under `nonce`, which the caller derives and guarantees never to repeat for this key,
  // with the frame AAD of (position, final = 0, n, b = ordinal). Serialized like SealSerialized
  // (the file's single writer). On failure returns false and sets *error.
  bool SealCompact(const uint8_t nonce[kNonceSize], uint64_t position, uint32_t ordinal,
                   const uint8_t* plaintext, size_t n, uint8_t* out, std::string* error);
  // Opens a v4 data frame in[in_len] (in_len >= 16) sealed as above into in_len - 16 bytes of
  // `plaintext`. On kAuthFailed the output is cleansed.
  OpenResult OpenCompact(const uint8_t nonce[kNonceSize], uint64_t position, uint32_t ordinal,
                         const uint8_t* in, size_t in_len, uint8_t* plaintext, std::string* error);

  // Fills out[n] (n <= 12) from the CSPRNG batch the frame nonces come from (v4 nonce prefixes).
  static bool RandomNonceBytes(uint8_t* out, size_t n);

  // Seal for a caller that serializes every call to it (a file's single writer, under its own
  // lock): seals with a context of its own, kept for the cipher's lifetime, instead of one taken
  // from and returned to the pool under the pool's mutex for every frame.
  bool SealSerialized(uint64_t index, bool final_frame, uint32_t sync_distance,
                      const uint8_t* plaintext, size_t n, uint8_t* out, std::string* error);

  // Authenticates frame `index` stored as in[in_len] (in_len >= 40) and writes in_len - 40
  // plaintext bytes to `plaintext`. A header whose check or length does not match in_len is
  // kAuthFailed, like a bad tag. On kAuthFailed the output is cleansed. On kOk the header's
  // sync distance goes to *sync_distance (if not null).
  OpenResult Open(uint64_t index, bool final_frame, const uint8_t* in, size_t in_len,
                  uint8_t* plaintext, std::string* error, uint32_t* sync_distance = nullptr,
                  Payload payload = Payload::kEncrypted);

  // Frame size used to validate frame headers (set by file objects; the bench uses the max).
  void set_frame_size(uint32_t f) { frame_size_ = f; }

 private:
  bool SealWith(EVP_CIPHER_CTX* c, uint64_t index, bool final_frame, uint32_t sync_distance,
                const uint8_t* plaintext, size_t n, uint8_t* out, std::string* error,
                Payload payload);
  // The AEAD calls shared by every seal: GCM under `nonce` over aad, then the payload (encrypted
  // into out, or authenticated and copied in clear), tag to tag_out.
  bool GcmSeal(EVP_CIPHER_CTX* c, const uint8_t* nonce, const uint8_t* aad, size_t aad_len,
               const uint8_t* plaintext, size_t n, uint8_t* out, uint8_t* tag_out,
               Payload payload, std::string* error);
  // The AEAD calls shared by every open; false with *error empty means the tag did not match.
  OpenResult GcmOpen(const uint8_t* nonce, const uint8_t* aad, size_t aad_len, const uint8_t* in,
                     size_t n, const uint8_t* tag_in, uint8_t* plaintext, Payload payload,
                     std::string* error);
  // Runs seal(ctx) with the single writer's own context (keyed on first use); a failed seal frees
  // it, so the next call keys a fresh one. For SealSerialized and SealCompact.
  template <class SealFn>
  bool WithWriterContext(std::string* error, SealFn seal);
  EVP_CIPHER_CTX* Acquire(bool encrypt, std::string* error);
  void Release(EVP_CIPHER_CTX* ctx, bool encrypt);

  uint8_t key_[kDekSize];
  uint8_t file_id_[kFileIdSize];
  uint32_t frame_size_ = kMaxFrameSize;
  std::shared_ptr<Stats> stats_;
  std::mutex mu_;
  std::vector<EVP_CIPHER_CTX*> free_enc_;
  std::vector<EVP_CIPHER_CTX*> free_dec_;
  // SealSerialized's own context (freed, i.e. cleansed, with the cipher).
  EVP_CIPHER_CTX* writer_ctx_ = nullptr;
};

}  // namespace ekv
