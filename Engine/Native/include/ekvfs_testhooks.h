/*
 * ekvfs_testhooks: entry points for tests and benchmarks only, in libekvfs_testhooks.so (built from
 * the same sources as libekvfs.so, CMake target ekvfs_testhooks). They take raw key bytes, so they
 * are never exported by the production library (its export map is src/exports.map; this library's
 * is src/testhooks_exports.map). Consumer: Engine.Bench (Micro/FrameCipherBenchmarks.cs).
 */
#ifndef EKVFS_TESTHOOKS_H
#define EKVFS_TESTHOOKS_H

#include "ekvfs.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ---- Micro-benchmark entry points ----
 *
 * Seal or open one frame `iterations` times with exactly the code files use (FrameCipher: a
 * pooled, keyed OpenSSL AES-256-GCM context, a fresh CSPRNG nonce per seal, the 12-byte frame
 * header and the 37-byte associated data), as frame 0 of a file with an all-zero file id.
 * ekv_bench_seal: `out` holds len + EKV_FRAME_OVERHEAD bytes; after the call it is a sealed frame
 * (the last iteration's) that ekv_bench_open accepts. ekv_bench_open: `in` is such a frame
 * (in_len >= EKV_FRAME_OVERHEAD), `out` receives in_len - EKV_FRAME_OVERHEAD plaintext bytes;
 * EKV_INTEGRITY if it does not authenticate. len <= 1 MiB, iterations >= 1.
 */
EKV_API int32_t ekv_bench_seal(const uint8_t* key32, const uint8_t* in, size_t len, uint8_t* out,
                               int32_t iterations) EKV_NOEXCEPT;
EKV_API int32_t ekv_bench_open(const uint8_t* key32, const uint8_t* in, size_t in_len, uint8_t* out,
                               int32_t iterations) EKV_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif /* EKVFS_TESTHOOKS_H */
