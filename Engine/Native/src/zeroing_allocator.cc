#include "zeroing_allocator.h"

#include <malloc.h>

#include <cstdlib>

#include "secure_wipe.h"

namespace ekv {

ZeroingAllocatorCounters& ZeroingCounters() noexcept {
  static ZeroingAllocatorCounters counters;
  return counters;
}

void* ZeroingAllocator::Allocate(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) std::abort();
  ZeroingCounters().allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void ZeroingAllocator::Deallocate(void* p) {
  if (p == nullptr) return;
  const size_t n = malloc_usable_size(p);
  SecureWipe(p, n);  // not memset: the compiler may drop a store before free
  ZeroingAllocatorCounters& c = ZeroingCounters();
  c.wiped_blocks.fetch_add(1, std::memory_order_relaxed);
  c.wiped_bytes.fetch_add(n, std::memory_order_relaxed);
  std::free(p);
}

size_t ZeroingAllocator::UsableSize(void* p, size_t allocation_size) const {
  return p == nullptr ? allocation_size : malloc_usable_size(p);
}

}  // namespace ekv
