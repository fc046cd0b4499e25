// C entry points for memory hygiene: a block cache whose blocks are wiped when freed.
#include <cstring>

#include "c_api_util.h"
#include "ekvfs.h"
#include "env_handle.h"
#include "memory_gauge.h"
#include "rocksdb/c.h"
#include "zeroing_allocator.h"

namespace ekv {

ByteGauge& GaugeOf(GaugeKind kind) noexcept {
  static ByteGauge plain_buffers;
  static ByteGauge frame_index;
  return kind == GaugeKind::kPlainBuffers ? plain_buffers : frame_index;
}

}  // namespace ekv

using ekv::CopyMessage;
using ekv::capi::CatchAll;
using ekv::capi::Fail;

EKV_API int32_t ekv_block_cache_create(uint64_t capacity, void** cache, char* msg,
                                       uint32_t msg_cap) noexcept {
  return CatchAll("ekv_block_cache_create", msg, msg_cap, [&]() -> int32_t {
    if (cache == nullptr) return Fail(EKV_INVALID_ARGUMENT, "cache is required", msg, msg_cap);
    *cache = nullptr;
    auto* allocator = static_cast<rocksdb_memory_allocator_t*>(
        ekv::bridge::NewCMemoryAllocator(std::make_shared<ekv::ZeroingAllocator>()));
    rocksdb_lru_cache_options_t* opts = rocksdb_lru_cache_options_create();
    rocksdb_lru_cache_options_set_capacity(opts, static_cast<size_t>(capacity));
    rocksdb_lru_cache_options_set_memory_allocator(opts, allocator);
    *cache = rocksdb_cache_create_lru_opts(opts);
    rocksdb_lru_cache_options_destroy(opts);
    rocksdb_memory_allocator_destroy(allocator);  // the cache holds its own reference
    if (*cache == nullptr) return Fail(EKV_INTERNAL, "the LRU cache was not created", msg, msg_cap);
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API void ekv_zeroing_allocator_stats(ekv_allocator_stats* out) noexcept {
  if (out == nullptr) return;
  std::memset(out, 0, sizeof(*out));
  const ekv::ZeroingAllocatorCounters& c = ekv::ZeroingCounters();
  out->allocations = c.allocations.load(std::memory_order_relaxed);
  out->wiped_blocks = c.wiped_blocks.load(std::memory_order_relaxed);
  out->wiped_bytes = c.wiped_bytes.load(std::memory_order_relaxed);
}

EKV_API void ekv_memory_stats_get(ekv_memory_stats* out) noexcept {
  if (out == nullptr) return;
  std::memset(out, 0, sizeof(*out));
  const ekv::ByteGauge& plain = ekv::GaugeOf(ekv::GaugeKind::kPlainBuffers);
  const ekv::ByteGauge& index = ekv::GaugeOf(ekv::GaugeKind::kFrameIndex);
  out->plain_buffer_bytes = plain.now.load(std::memory_order_relaxed);
  out->plain_buffer_peak_bytes = plain.peak.load(std::memory_order_relaxed);
  out->frame_index_bytes = index.now.load(std::memory_order_relaxed);
  out->frame_index_peak_bytes = index.peak.load(std::memory_order_relaxed);
}
