// Process-wide gauges of the bytes the plugin holds in its own buffers, by kind, reported by
// ekv_memory_stats_get: the bench checks that neither plaintext buffers nor frame indexes grow
// with the store. Counting is a relaxed atomic add per allocation, never per frame sealed or opened.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ekv {

struct ByteGauge {
  std::atomic<uint64_t> now{0};
  std::atomic<uint64_t> peak{0};

  void Add(std::size_t n) noexcept {
    uint64_t after = now.fetch_add(n, std::memory_order_relaxed) + n;
    uint64_t seen = peak.load(std::memory_order_relaxed);
    while (after > seen && !peak.compare_exchange_weak(seen, after, std::memory_order_relaxed)) {
    }
  }
  void Sub(std::size_t n) noexcept { now.fetch_sub(n, std::memory_order_relaxed); }
};

enum class GaugeKind { kPlainBuffers, kFrameIndex };

// One gauge per kind for the whole process (defined in c_api_memory.cc).
ByteGauge& GaugeOf(GaugeKind kind) noexcept;

// A std::allocator that charges what it hands out to the gauge of `Kind`.
template <typename T, GaugeKind Kind>
struct GaugedAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = GaugedAllocator<U, Kind>;
  };
  GaugedAllocator() noexcept = default;
  template <typename U>
  GaugedAllocator(const GaugedAllocator<U, Kind>&) noexcept {}
  T* allocate(std::size_t n) {
    T* p = std::allocator<T>().allocate(n);
    GaugeOf(Kind).Add(n * sizeof(T));
    return p;
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    GaugeOf(Kind).Sub(n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const GaugedAllocator<U, Kind>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const GaugedAllocator<U, Kind>&) const noexcept {
    return false;
  }
};

}  // namespace ekv
