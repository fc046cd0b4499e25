// Profiling driver for the table-write path (flush + full compaction), plain RocksDB vs the
// encrypted file system, with the options Engine.Bench uses for both (RocksDB defaults: 4 KiB
// blocks, snappy, 64 MiB memtable). Not a test: built with the tests, run by hand under
// callgrind / strace (Engine.Bench/results/PROFILE.md, "Table writes").
//
//   ekvfs_tablewrite_prof plain|engine DIR [NUM] [VALUE_SIZE] [batch]
//
// Fills NUM random keys (16-byte db_bench-style keys, values half random, half repeated; the
// first half flushed on the way), then, between CALLGRIND_START/STOP_INSTRUMENTATION (a no-op
// outside valgrind), flushes the memtable and compacts the whole range: one flush, one
// compaction of two L0 files into one L1 file. Prints the SST files left and, for the engine, the
// frames of each (from the v3 trailer: frame count and logical size).
#include <sys/resource.h>
#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "env_handle.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "test_support.h"

namespace stdfs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s plain|engine DIR [NUM] [VALUE_SIZE] [batch]\n", argv[0]);
    return 2;
  }
  const bool engine = std::strcmp(argv[1], "engine") == 0;
  const std::string dir = argv[2];
  const long num = argc > 3 ? std::atol(argv[3]) : 200000;
  const int value_size = argc > 4 ? std::atoi(argv[4]) : 100;
  // "batch": measure instead a fill in WriteBatches of 100 (as Engine.Bench's fillrandom-batch)
  // with a 4 MiB memtable, so that flushes and compactions run in the background during it as
  // they do in the bench's 1M-key runs with the default 64 MiB; the measured part is the fill
  // and the background work it causes (waited for at the end).
  const bool batch = argc > 5 && std::strcmp(argv[5], "batch") == 0;
  stdfs::remove_all(dir);

  ekvtest::TestKeys keys;
  ekv_env* env = engine ? ekvtest::CreateEnv(&keys) : nullptr;
  rocksdb::Options o;
  o.create_if_missing = true;
  if (env != nullptr) o.env = env->env.get();
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(8 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  if (batch) o.write_buffer_size = 4 << 20;

  // Values as Engine.Bench's KeySpace: half random bytes, half a repeated byte.
  std::mt19937_64 rng(42);
  std::string pool(1 << 20, '\0');
  for (size_t i = 0; i < pool.size(); i += value_size) {
    for (int j = 0; j < value_size && i + j < pool.size(); ++j) {
      pool[i + j] = static_cast<char>(j < value_size / 2 ? rng() : 'x');
    }
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  rocksdb::WriteOptions wo;
  char key[16];
  const size_t slots = pool.size() / value_size - 1;
  auto cpu = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  if (batch) {
    const double cpu0 = cpu();
    CALLGRIND_START_INSTRUMENTATION;
    rocksdb::WriteBatch wb;
    for (long i = 0; i < num && s.ok(); ++i) {
      const uint64_t k = rng() % static_cast<uint64_t>(num);
      for (int b = 0; b < 8; ++b) key[b] = static_cast<char>(k >> (56 - 8 * b));
      std::memset(key + 8, 0, 8);
      s = wb.Put(rocksdb::Slice(key, 16),
                 rocksdb::Slice(pool.data() + (i % slots) * value_size, value_size));
      if (s.ok() && (wb.Count() == 100 || i + 1 == num)) {
        s = db->Write(wo, &wb);
        wb.Clear();
      }
    }
    // The background work the fill caused.
    for (;;) {
      uint64_t running = 0, pending = 0, flushes = 0;
      db->GetIntProperty("rocksdb.num-running-compactions", &running);
      db->GetIntProperty("rocksdb.compaction-pending", &pending);
      db->GetIntProperty("rocksdb.num-running-flushes", &flushes);
      if (running + pending + flushes == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    std::printf("%s: %ld puts of %d B in batches of 100 + background work: %.3f s CPU\n", argv[1],
                num, value_size, cpu() - cpu0);
    delete db;
    if (env != nullptr) ekv_env_destroy(env);
    return s.ok() ? 0 : 1;
  }
  for (long i = 0; i < num; ++i) {
    // Two L0 files that overlap: the first half is flushed before the measured part, so the
    // measured part is one flush and one compaction that rewrites both files.
    if (i == num / 2) s = db->Flush(rocksdb::FlushOptions());
    if (!s.ok()) break;
    const uint64_t k = rng() % static_cast<uint64_t>(num);
    for (int b = 0; b < 8; ++b) key[b] = static_cast<char>(k >> (56 - 8 * b));
    std::memset(key + 8, 0, 8);
    s = db->Put(wo, rocksdb::Slice(key, 16),
                rocksdb::Slice(pool.data() + (i % slots) * value_size, value_size));
    if (!s.ok()) {
      std::fprintf(stderr, "put: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  // Process CPU time (all threads: flush and compaction run on RocksDB's background threads).
  const double cpu0 = cpu();
  const auto t0 = std::chrono::steady_clock::now();
  CALLGRIND_START_INSTRUMENTATION;
  s = db->Flush(rocksdb::FlushOptions());
  if (s.ok()) s = db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
  CALLGRIND_STOP_INSTRUMENTATION;
  const double cpu_secs = cpu() - cpu0;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) {
    std::fprintf(stderr, "flush/compact: %s\n", s.ToString().c_str());
    return 1;
  }
  std::string stats;
  db->GetProperty("rocksdb.stats", &stats);
  delete db;
  std::printf("%s: %ld puts of %d B, flush + compact %.3f s wall, %.3f s CPU\n", argv[1], num,
              value_size, secs, cpu_secs);
  uint64_t total = 0;
  for (const std::string& f : ekvtest::ListFiles(dir)) {
    if (f.size() < 4 || f.compare(f.size() - 4, 4, ".sst") != 0) continue;
    const uint64_t raw = ekvtest::RawSize(f);
    total += raw;
    std::printf("  %s: %llu bytes", f.c_str(), static_cast<unsigned long long>(raw));
    if (engine && raw >= 16) {
      const std::string r = ekvtest::ReadRaw(f);
      const uint8_t* tr = reinterpret_cast<const uint8_t*>(r.data() + r.size() - 16);
      uint64_t logical = 0;
      uint32_t frames = 0;
      for (int b = 7; b >= 0; --b) logical = (logical << 8) | tr[b];
      for (int b = 11; b >= 8; --b) frames = (frames << 8) | tr[b];
      std::printf(", %u frames, logical %llu, %.0f B per frame", frames,
                  static_cast<unsigned long long>(logical),
                  frames ? static_cast<double>(logical) / frames : 0.0);
    }
    std::printf("\n");
  }
  std::printf("  total SST bytes %llu\n", static_cast<unsigned long long>(total));
  if (env != nullptr) ekv_env_destroy(env);
  return 0;
}
