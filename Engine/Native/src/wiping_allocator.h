// A std::allocator that wipes memory before returning it to the heap: containers of plaintext
// (decrypted frames) built on it leave nothing behind when they grow, shrink or are destroyed.
// What they hold is counted in the plain-buffer gauge (memory_gauge.h).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "memory_gauge.h"
#include "secure_wipe.h"

namespace ekv {

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    T* p = std::allocator<T>().allocate(n);
    GaugeOf(GaugeKind::kPlainBuffers).Add(n * sizeof(T));
    return p;
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    SecureWipe(p, n * sizeof(T));  // not memset: it may be elided
    GaugeOf(GaugeKind::kPlainBuffers).Sub(n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const WipingAllocator<U>&) const noexcept {
    return false;
  }
};

// Decrypted bytes: wiped on every reallocation and on destruction.
using PlainBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

}  // namespace ekv
