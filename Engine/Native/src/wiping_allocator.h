// A std::allocator that wipes memory before returning it to the heap: containers of plaintext
// (decrypted frames) built on it leave nothing behind when they grow, shrink or are destroyed.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace ekv {

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    if (p != nullptr) OPENSSL_cleanse(p, n * sizeof(T));  // not memset: it may be elided
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
