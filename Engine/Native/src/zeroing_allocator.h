// A RocksDB MemoryAllocator that wipes every block when RocksDB frees it. The block cache holds
// decrypted data blocks, index and filter blocks; without this, an evicted or released block
// leaves its plaintext in freed heap memory until something else overwrites it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "rocksdb/memory_allocator.h"

namespace ekv {

// Process-wide counters of every ZeroingAllocator (tests check that the cache really uses it).
struct ZeroingAllocatorCounters {
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> wiped_blocks{0};
  std::atomic<uint64_t> wiped_bytes{0};
};
ZeroingAllocatorCounters& ZeroingCounters() noexcept;

class ZeroingAllocator final : public rocksdb::MemoryAllocator {
 public:
  static const char* kClassName() { return "EkvZeroingAllocator"; }
  const char* Name() const override { return kClassName(); }

  // Never throws into RocksDB: out of memory aborts the process (what an unchecked new in
  // RocksDB's own allocation path amounts to).
  void* Allocate(size_t size) override;
  // Wipes the whole usable size (not only what was asked for) before freeing.
  void Deallocate(void* p) override;
  size_t UsableSize(void* p, size_t allocation_size) const override;
};

}  // namespace ekv
