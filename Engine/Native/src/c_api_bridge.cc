// The one file that depends on the private struct layouts of RocksDB's C API (db/c.cc).
//
// RocksDbSharp talks to RocksDB only through the C API, whose handles are opaque pointers to
// structs defined inside c.cc. Two of them must be produced or modified here because the C API
// of 7.8.3 offers no way to do it:
//   struct rocksdb_env_t     { Env* rep; bool is_default; };   // to pass our Env to SetEnv
//   struct rocksdb_options_t { Options rep; };                 // to set cf_paths and WAL tracking
// These layouts have been unchanged for years, but nothing guarantees them: the C++ test
// (tests/ekvfs_test.cc, "CApiBridge*") checks both against the real library by calling
// rocksdb_options_set_env / rocksdb_options_* getters through the C API.
#include "env_handle.h"
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
}  // namespace

void* NewCEnv(rocksdb::Env* env) {
  // is_default = true: rocksdb_env_destroy must never delete our Env; ekv_env_destroy owns it.
  return new CEnvLayout{env, true};
}

void DeleteCEnv(void* c_env) noexcept { delete static_cast<CEnvLayout*>(c_env); }

rocksdb::ColumnFamilyOptions* CfOptionsFromC(void* rocksdb_options) {
  return &static_cast<COptionsLayout*>(rocksdb_options)->rep;
}

rocksdb::DBOptions* DbOptionsFromC(void* rocksdb_options) {
  return &static_cast<COptionsLayout*>(rocksdb_options)->rep;
}

}  // namespace bridge
}  // namespace ekv
