// extern "C": frame-cipher micro-benchmark entry points (ekvfs_testhooks.h; only in
// libekvfs_testhooks.so). They drive FrameCipher,
// the very object the file system seals and opens frames with.
#include <cstring>
#include <memory>

#include "ekvfs.h"
#include "ekvfs_testhooks.h"
#include "frame_cipher.h"

namespace {

enum class Mode { kSeal, kOpen };

int32_t Bench(Mode mode, const uint8_t* key32, const uint8_t* in, size_t in_len, uint8_t* out,
              int32_t iterations) noexcept {
  try {
    if (key32 == nullptr || (in == nullptr && in_len > 0) || out == nullptr || iterations < 1) {
      return EKV_INVALID_ARGUMENT;
    }
    const size_t plain_len = mode == Mode::kSeal ? in_len : in_len - ekv::kFrameOverhead;
    if ((mode == Mode::kOpen && in_len < ekv::kFrameOverhead) || plain_len > ekv::kMaxFrameSize) {
      return EKV_INVALID_ARGUMENT;
    }
    static const std::shared_ptr<ekv::Stats> stats = std::make_shared<ekv::Stats>();
    ekv::SecretKey key;
    std::memcpy(key.data(), key32, ekv::kDekSize);
    const uint8_t file_id[ekv::kFileIdSize] = {0};
    ekv::FrameCipher cipher(key, file_id, stats);
    std::string err;
    for (int32_t i = 0; i < iterations; ++i) {
      if (mode == Mode::kSeal) {
        if (!cipher.Seal(0, false, 0, in, in_len, out, &err)) return EKV_INTERNAL;
      } else {
        auto r = cipher.Open(0, false, in, in_len, out, &err);
        if (r == ekv::FrameCipher::OpenResult::kAuthFailed) return EKV_INTEGRITY;
        if (r != ekv::FrameCipher::OpenResult::kOk) return EKV_INTERNAL;
      }
    }
    return EKV_OK;
  } catch (...) {
    return EKV_INTERNAL;
  }
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_bench_seal(const uint8_t* key32, const uint8_t* in, size_t len, uint8_t* out,
                               int32_t iterations) noexcept {
  return Bench(Mode::kSeal, key32, in, len, out, iterations);
}

EKV_API int32_t ekv_bench_open(const uint8_t* key32, const uint8_t* in, size_t in_len, uint8_t* out,
                               int32_t iterations) noexcept {
  return Bench(Mode::kOpen, key32, in, in_len, out, iterations);
}

}  // extern "C"
