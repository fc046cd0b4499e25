// The plugin's one wipe primitive for plaintext and secrets (docs/memory.md).
#pragma once

#include <string.h>

#include <cstddef>

namespace ekv {

// Zeroes n bytes at p so that the compiler cannot drop the stores (the buffer is usually freed
// right after). glibc's explicit_bzero is memset behind an optimisation barrier, so it runs at
// memset's speed (vector stores, rep stosb); OPENSSL_cleanse, used before, stores 8 bytes per loop
// iteration and took 4.1% of the CPU of a cold-read run (block-cache evictions and read scratch;
// Engine.Bench/results/PROFILE.md, "Format v4").
inline void SecureWipe(void* p, size_t n) noexcept {
  if (n != 0) explicit_bzero(p, n);
}

}  // namespace ekv
