// The object behind the opaque ekv_env* of the C API.
#pragma once

#include <memory>

#include "ekvfs.h"
#include "encrypted_fs.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/memory_allocator.h"

struct ekv_env {
  // The in-memory base Env (use_mem_env=1, or an ekv_mem_fs shared with other envs); owns the
  // MockFileSystem under `fs`.
  std::shared_ptr<rocksdb::Env> mem_base;
  std::shared_ptr<ekv::EncryptedFileSystem> fs;
  // The Env RocksDB uses: NewCompositeEnv over `fs` (threads and clock of Env::Default()).
  std::unique_ptr<rocksdb::Env> env;
  // The rocksdb_env_t handed to RocksDbSharp (see c_api_bridge.cc).
  void* c_env = nullptr;
};

// The object behind the opaque ekv_mem_fs*: an in-memory Env whose files outlive the envs built on
// it (each of them holds a reference too).
struct ekv_mem_fs {
  std::shared_ptr<rocksdb::Env> mem;
};

namespace ekv {
namespace bridge {
// These functions live in c_api_bridge.cc, the only code that knows the private layouts of
// RocksDB's db/c.cc.
void* NewCEnv(rocksdb::Env* env);
void DeleteCEnv(void* c_env) noexcept;
rocksdb::ColumnFamilyOptions* CfOptionsFromC(void* rocksdb_options);
// A rocksdb_memory_allocator_t* holding `allocator` (for rocksdb_lru_cache_options_set_memory_allocator).
void* NewCMemoryAllocator(std::shared_ptr<rocksdb::MemoryAllocator> allocator);

// The DBOptions of a rocksdb_options_t (the C API of 7.8.3 cannot set
// track_and_verify_wals_in_manifest).
rocksdb::DBOptions* DbOptionsFromC(void* rocksdb_options);
// The DB of a rocksdb_t (backups: the 7.8.3 C API has no GetLiveFilesStorageInfo).
rocksdb::DB* DbFromC(void* rocksdb_db);
}  // namespace bridge
}  // namespace ekv
