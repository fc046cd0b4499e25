// The one file that depends on the private struct layouts of RocksDB's C API (db/c.cc).
//
// RocksDbSharp talks to RocksDB only through the C API, whose handles are opaque pointers to
// structs defined inside c.cc. Three of them must be produced or modified here because the C API
// of 7.8.3 offers no way to do it:
//   struct rocksdb_env_t     { Env* rep; bool is_default; };   // to pass our Env to SetEnv
//   struct rocksdb_options_t { Options rep; };                 // to set cf_paths and WAL tracking
//   struct rocksdb_memory_allocator_t { shared_ptr<MemoryAllocator> rep; };  // zeroing block cache
// These layouts have been unchanged for years, but nothing guarantees them: the C++ tests
// (tests/db_test.cc, "CApiBridge*") check them against the real library through the C API
// (rocksdb_options_set_env, cf_paths, and rocksdb_lru_cache_options_set_memory_allocator: a
// database whose block cache was built that way must allocate its blocks from our allocator).
#include "env_handle.h"
#include "rocksdb/db.h"
#include "rocksdb/memory_allocator.h"
#include "rocksdb/options.h"

namespace ekv {
namespace bridge {

namespace {
struct CEnvLayout {  // == rocksdb_env_t in db/c.cc
  rocksdb::Env* rep;
  bool is_default;
};
struct COptionsLayout {  // == rocksdb_options_t in db/c.cc
  rocksdb::Options rep;
};
struct CDbLayout {  // == rocksdb_t in db/c.cc
  rocksdb::DB* rep;
};
struct CMemoryAllocatorLayout {  // == rocksdb_memory_allocator_t in db/c.cc
  std::shared_ptr<rocksdb::MemoryAllocator> rep;
};
}  // namespace

void* NewCEnv(rocksdb::Env* env) {
  // is_default = true: rocksdb_env_destroy must never delete our Env; ekv_env_destroy owns it.
  return new CEnvLayout{env, true};
}

void DeleteCEnv(void* c_env) noexcept { delete static_cast<CEnvLayout*>(c_env); }

rocksdb::ColumnFamilyOptions* CfOptionsFromC(void* rocksdb_options) {
  return &static_cast<COptionsLayout*>(rocksdb_options)->rep;
}

void* NewCMemoryAllocator(std::shared_ptr<rocksdb::MemoryAllocator> allocator) {
  // Released with rocksdb_memory_allocator_destroy (a plain delete of the same layout); a cache
  // built from it keeps its own reference to the allocator.
  return new CMemoryAllocatorLayout{std::move(allocator)};
}

rocksdb::DB* DbFromC(void* rocksdb_db) { return static_cast<CDbLayout*>(rocksdb_db)->rep; }
rocksdb::DBOptions* DbOptionsFromC(void* rocksdb_options) {
  return &static_cast<COptionsLayout*>(rocksdb_options)->rep;
}

}  // namespace bridge
}  // namespace ekv
