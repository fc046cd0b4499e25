// Memory hygiene: the wiping block-cache allocator is really used by a cache built through the
// C API bridge (c_api_bridge.cc's rocksdb_memory_allocator_t layout), and the wiping containers.
#include <gtest/gtest.h>

#include <string>

#include "ekvfs.h"
#include "frame_map.h"
#include "rocksdb/c.h"
#include "test_support.h"
#include "wiping_allocator.h"

namespace {

using ekvtest::CreateEnv;
using ekvtest::TempDir;
using ekvtest::TestKeys;

ekv_allocator_stats Stats() {
  ekv_allocator_stats s;
  ekv_zeroing_allocator_stats(&s);
  return s;
}

TEST(MemoryHygiene, CApiBridgeBlockCacheAllocatesFromTheWipingAllocatorAndWipesEveryBlock) {
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys);
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache-db";
  void* cache = nullptr;
  char msg[256];
  ASSERT_EQ(ekv_block_cache_create(8u << 20, &cache, msg, sizeof(msg)), EKV_OK) << msg;
  ASSERT_NE(cache, nullptr);
  const ekv_allocator_stats before = Stats();

  rocksdb_block_based_table_options_t* table = rocksdb_block_based_options_create();
  rocksdb_block_based_options_set_block_cache(table, static_cast<rocksdb_cache_t*>(cache));
  rocksdb_options_t* opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(opts, 1);
  rocksdb_options_set_env(opts, static_cast<rocksdb_env_t*>(ekv_env_rocksdb_env(env)));
  rocksdb_options_set_block_based_table_factory(opts, table);
  char* err = nullptr;
  rocksdb_t* db = rocksdb_open(opts, dir.c_str(), &err);
  ASSERT_EQ(err, nullptr) << err;
  rocksdb_writeoptions_t* wo = rocksdb_writeoptions_create();
  for (int i = 0; i < 2000; ++i) {
    const std::string k = "key-" + std::to_string(i), v(100, static_cast<char>('a' + i % 26));
    rocksdb_put(db, wo, k.data(), k.size(), v.data(), v.size(), &err);
    ASSERT_EQ(err, nullptr);
  }
  rocksdb_flushoptions_t* fo = rocksdb_flushoptions_create();
  rocksdb_flush(db, fo, &err);
  ASSERT_EQ(err, nullptr);
  rocksdb_readoptions_t* ro = rocksdb_readoptions_create();
  for (int i = 0; i < 2000; i += 7) {
    const std::string k = "key-" + std::to_string(i);
    size_t len = 0;
    char* v = rocksdb_get(db, ro, k.data(), k.size(), &len, &err);
    ASSERT_EQ(err, nullptr);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(len, 100u);
    rocksdb_free(v);
  }
  const ekv_allocator_stats reading = Stats();
  EXPECT_GT(reading.allocations, before.allocations)
      << "the block cache did not allocate through the allocator set via the C API bridge";

  rocksdb_close(db);
  rocksdb_readoptions_destroy(ro);
  rocksdb_flushoptions_destroy(fo);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_options_destroy(opts);
  rocksdb_block_based_options_destroy(table);
  rocksdb_cache_destroy(static_cast<rocksdb_cache_t*>(cache));
  const ekv_allocator_stats after = Stats();
  EXPECT_EQ(after.wiped_blocks - before.wiped_blocks, after.allocations - before.allocations)
      << "every block the cache allocated is wiped when the cache is gone";
  EXPECT_GT(after.wiped_bytes, before.wiped_bytes);
  ekv_env_destroy(env);
}

TEST(MemoryHygiene, ZeroCapacityCacheStillUsesTheWipingAllocator) {
  void* cache = nullptr;
  char msg[256];
  ASSERT_EQ(ekv_block_cache_create(0, &cache, msg, sizeof(msg)), EKV_OK) << msg;
  rocksdb_cache_destroy(static_cast<rocksdb_cache_t*>(cache));
  EXPECT_EQ(ekv_block_cache_create(1, nullptr, msg, sizeof(msg)), EKV_INVALID_ARGUMENT);
}

TEST(MemoryHygiene, WipingAllocatorKeepsContentsAcrossGrowth) {
  ekv::PlainBytes b(10, 7);
  b.resize(10000, 9);
  EXPECT_EQ(b[0], 7);
  EXPECT_EQ(b[9999], 9);
}

ekv_memory_stats MemoryStats() {
  ekv_memory_stats s;
  ekv_memory_stats_get(&s);
  return s;
}

TEST(MemoryGauges, PlainBuffersAreCountedWhileHeldAndReleasedWhenFreed) {
  const ekv_memory_stats before = MemoryStats();
  {
    ekv::PlainBytes b(100000, 1);
    const ekv_memory_stats held = MemoryStats();
    EXPECT_GE(held.plain_buffer_bytes, before.plain_buffer_bytes + 100000);
    EXPECT_GE(held.plain_buffer_peak_bytes, held.plain_buffer_bytes);
  }
  const ekv_memory_stats after = MemoryStats();
  EXPECT_EQ(after.plain_buffer_bytes, before.plain_buffer_bytes);
  EXPECT_GE(after.plain_buffer_peak_bytes, before.plain_buffer_bytes + 100000);
}

TEST(MemoryGauges, FrameIndexOfShortFramesIsCountedAndReleased) {
  const ekv_memory_stats before = MemoryStats();
  {
    ekv::FrameMap map(4096);
    for (int i = 0; i < 1000; i++) map.Push(100);  // short frames: each start is listed
    const ekv_memory_stats held = MemoryStats();
    EXPECT_GE(held.frame_index_bytes, before.frame_index_bytes + 1000 * sizeof(uint64_t));
    map.Clear();
  }
  EXPECT_EQ(MemoryStats().frame_index_bytes, before.frame_index_bytes);
  EXPECT_NO_FATAL_FAILURE(ekv_memory_stats_get(nullptr));
}

}  // namespace
