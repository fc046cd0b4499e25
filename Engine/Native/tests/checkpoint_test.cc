// ekv_db_checkpoint: RocksDB's checkpoint steps for a database with cf_paths, through the C API
// handle RocksDbSharp holds (so the rocksdb_t layout in c_api_bridge.cc is checked too).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "ekvfs.h"
#include "rocksdb/c.h"
#include "test_support.h"

using namespace ekvtest;

namespace {

const std::string kKey = "ckpt-key-5e1d";
const std::string kFlushed = "ckpt-flushed-value-9a7b";
const std::string kUnflushed = "ckpt-memtable-value-33c2";

struct CDb {
  rocksdb_options_t* db_opts = nullptr;
  rocksdb_options_t* ns_opts = nullptr;
  rocksdb_column_family_handle_t* handles[2] = {nullptr, nullptr};
  rocksdb_t* db = nullptr;

  CDb(ekv_env* env, const std::string& dir) {
    std::filesystem::create_directories(dir + "/ns");  // as the engine makes ns/ before RocksDB opens
    db_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db_opts, 1);
    rocksdb_options_set_create_missing_column_families(db_opts, 1);
    rocksdb_options_set_env(db_opts, static_cast<rocksdb_env_t*>(ekv_env_rocksdb_env(env)));
    ns_opts = rocksdb_options_create();
    char msg[256];
    EXPECT_EQ(ekv_options_set_cf_path(ns_opts, (dir + "/ns/2").c_str(), 0, msg, sizeof(msg)), EKV_OK);
    const char* names[] = {"default", "ns-2"};
    const rocksdb_options_t* cf_opts[] = {db_opts, ns_opts};
    char* err = nullptr;
    db = rocksdb_open_column_families(db_opts, dir.c_str(), 2, names, cf_opts, handles, &err);
    EXPECT_EQ(err, nullptr) << err;
  }
  ~CDb() {
    for (auto* h : handles) {
      if (h != nullptr) rocksdb_column_family_handle_destroy(h);
    }
    if (db != nullptr) rocksdb_close(db);
    rocksdb_options_destroy(ns_opts);
    rocksdb_options_destroy(db_opts);
  }
  void Put(const std::string& key, const std::string& value) {
    rocksdb_writeoptions_t* wo = rocksdb_writeoptions_create();
    char* err = nullptr;
    rocksdb_put_cf(db, wo, handles[1], key.data(), key.size(), value.data(), value.size(), &err);
    EXPECT_EQ(err, nullptr);
    rocksdb_writeoptions_destroy(wo);
  }
  std::string Get(const std::string& key) {
    rocksdb_readoptions_t* ro = rocksdb_readoptions_create();
    char* err = nullptr;
    size_t len = 0;
    char* v = rocksdb_get_cf(db, ro, handles[1], key.data(), key.size(), &len, &err);
    EXPECT_EQ(err, nullptr);
    std::string result = v == nullptr ? "(absent)" : std::string(v, len);
    rocksdb_free(v);
    rocksdb_readoptions_destroy(ro);
    return result;
  }
  void Flush() {
    rocksdb_flushoptions_t* fo = rocksdb_flushoptions_create();
    char* err = nullptr;
    rocksdb_flush_cf(db, fo, handles[1], &err);
    EXPECT_EQ(err, nullptr);
    rocksdb_flushoptions_destroy(fo);
  }
};

std::vector<std::string> FilesNamed(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const std::string& f : ListFiles(dir)) {
    if (f.size() >= suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(f);
    }
  }
  return out;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST(Checkpoint, CopiesAConsistentOpenableViewKeepingNamespaceDirectoriesAndSstCiphertext) {
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys);
  TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  const std::string staging = dir + "/staging";
  {
    CDb live(env, dir);
    live.Put(kKey + "-1", kFlushed);
    live.Flush();
    live.Put(kKey + "-2", kUnflushed);  // memtable only: the checkpoint flushes first
    char msg[512];
    ASSERT_EQ(ekv_db_checkpoint(live.db, env, dir.c_str(), staging.c_str(), msg, sizeof(msg)), EKV_OK) << msg;
    // A second one into the same place is refused, not merged.
    EXPECT_EQ(ekv_db_checkpoint(live.db, env, dir.c_str(), staging.c_str(), msg, sizeof(msg)), EKV_INVALID_ARGUMENT);
    // SSTs are hard links of the live ones (same inode: the ciphertext is not rewritten).
    std::vector<std::string> staged = FilesNamed(staging + "/ns/2", ".sst");
    ASSERT_FALSE(staged.empty());
    for (const std::string& path : staged) {
      std::string name = path.substr(path.rfind('/') + 1);
      EXPECT_EQ(Inode(path), Inode(dir + "/ns/2/" + name)) << name;
    }
    live.Put(kKey + "-3", "after the checkpoint");
    EXPECT_EQ(FilesContaining(staging, kFlushed), std::vector<std::string>());
    EXPECT_EQ(FilesContaining(staging, kUnflushed), std::vector<std::string>());
  }
  {
    // The staged copy is a database of its own (cf_paths under it), holding what was written before.
    CDb copy(env, staging);
    EXPECT_EQ(copy.Get(kKey + "-1"), kFlushed);
    EXPECT_EQ(copy.Get(kKey + "-2"), kUnflushed);
    EXPECT_EQ(copy.Get(kKey + "-3"), "(absent)");
  }
  ekv_env_destroy(env);
}

}  // namespace
