// End-to-end tests: a real rocksdb::DB (and the C API RocksDbSharp uses) over the encrypted env.
#include "rocksdb/db.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "env_handle.h"
#include "rocksdb/c.h"
#include "test_support.h"

using namespace ekvtest;
namespace stdfs = std::filesystem;

namespace {

const std::string kCanaryKey = "cnry-key-7f3a91";
const std::string kCanaryValue = "cnry-val-c0ffee";

std::string Key(int i) { return kCanaryKey + "-" + std::to_string(i); }
std::string Value(int i) { return kCanaryValue + "-" + std::to_string(i) + std::string(50, 'v'); }

struct Db {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  ~Db() { Close(); }
  void Close() {
    for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
    cfs.clear();
    delete db;
    db = nullptr;
  }
};

rocksdb::Status OpenDb(
    ekv_env* env, const std::string& dir, Db* out,
    rocksdb::WALRecoveryMode mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.env = env->env.get();
  o.wal_recovery_mode = mode;
  rocksdb::ColumnFamilyOptions ns;
  ns.cf_paths.emplace_back(dir + "/ns_1", 0);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()}, {"ns_1", ns}};
  return rocksdb::DB::Open(o, dir, cfs, &out->cfs, &out->db);
}

void Fill(Db* d, int from, int to) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(d->db->Put(rocksdb::WriteOptions(), d->cfs[i % 2], Key(i), Value(i)).ok());
  }
}

// Every key reads back correctly, or the read fails with Corruption: never wrong data.
void ExpectIntactOrCorruption(Db* d, int n, bool* saw_corruption) {
  for (int i = 0; i < n; ++i) {
    std::string v;
    rocksdb::Status s = d->db->Get(rocksdb::ReadOptions(), d->cfs[i % 2], Key(i), &v);
    if (s.ok()) {
      ASSERT_EQ(v, Value(i));
    } else if (s.IsCorruption()) {
      *saw_corruption = true;
      EXPECT_NE(s.ToString().find("[ekv:integrity]"), std::string::npos) << s.ToString();
    } else {
      ASSERT_TRUE(s.IsNotFound()) << s.ToString();
    }
  }
}

std::vector<std::string> FilesNamed(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const std::string& f : ListFiles(dir)) {
    if (f.size() >= suffix.size() &&
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(f);
    }
  }
  return out;
}

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = CreateEnv(&keys_); }
  void TearDown() override { ekv_env_destroy(env_); }
  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
};

TEST_F(DbTest, RoundTripAcrossReopenWithoutPlaintextOnDisk) {
  const std::string dir = tmp_.path() + "/db";
  {
    Db d;
    ASSERT_TRUE(OpenDb(env_, dir, &d).ok());
    Fill(&d, 0, 2000);
    for (auto* h : d.cfs) ASSERT_TRUE(d.db->Flush(rocksdb::FlushOptions(), h).ok());
    Fill(&d, 2000, 3000);
    for (auto* h : d.cfs) {
      ASSERT_TRUE(d.db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr).ok());
    }
    Fill(&d, 3000, 3500);  // stays in the WAL
  }
  ekv_stats stats;
  ekv_env_get_stats(env_, &stats);
  EXPECT_EQ(stats.live_deks, 0u) << "closed DB must not keep DEKs";
  {
    Db d;
    ASSERT_TRUE(OpenDb(env_, dir, &d).ok());
    bool corrupt = false;
    ExpectIntactOrCorruption(&d, 3500, &corrupt);
    EXPECT_FALSE(corrupt);
    std::string v;
    for (int i : {0, 1999, 2500, 3499}) {
      ASSERT_TRUE(d.db->Get(rocksdb::ReadOptions(), d.cfs[i % 2], Key(i), &v).ok()) << i;
    }
  }
  EXPECT_FALSE(FilesNamed(dir + "/ns_1", ".sst").empty()) << "cf_paths not honoured";
  EXPECT_FALSE(FilesNamed(dir, "LOG").empty());
  for (const std::string& needle :
       {kCanaryKey, kCanaryValue, std::string("RocksDB version"), std::string("ns_1"),
        std::string("leveldb.BytewiseComparator")}) {
    EXPECT_EQ(FilesContaining(tmp_.path(), needle), std::vector<std::string>()) << needle;
  }
  // The info LOG is there, encrypted, and decrypts to RocksDB's usual text.
  std::string log(4096, '\0');
  uint64_t got = 0;
  char msg[256];
  ASSERT_EQ(ekv_file_read(env_, (dir + "/LOG").c_str(), 0, reinterpret_cast<uint8_t*>(&log[0]),
                          log.size(), &got, msg, sizeof(msg)),
            EKV_OK)
      << msg;
  EXPECT_NE(log.substr(0, got).find("RocksDB version"), std::string::npos);
}

TEST_F(DbTest, TamperedSstIsCorruptionNotWrongData) {
  const std::string dir = tmp_.path() + "/db";
  {
    Db d;
    ASSERT_TRUE(OpenDb(env_, dir, &d).ok());
    Fill(&d, 0, 2000);
    for (auto* h : d.cfs) ASSERT_TRUE(d.db->Flush(rocksdb::FlushOptions(), h).ok());
  }
  auto ssts = FilesNamed(dir + "/ns_1", ".sst");
  ASSERT_FALSE(ssts.empty());
  FlipByte(ssts[0], 1024 + 12 + 100);  // ciphertext of frame 0 (data block)
  Db d;
  rocksdb::Status s = OpenDb(env_, dir, &d);
  if (!s.ok()) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    return;
  }
  bool corrupt = false;
  ExpectIntactOrCorruption(&d, 2000, &corrupt);
  EXPECT_TRUE(corrupt);
  ekv_stats stats;
  ekv_env_get_stats(env_, &stats);
  EXPECT_GE(stats.integrity_failures, 1u);
}

// The engine keeps RocksDB's default WAL recovery mode. A torn tail (which the file system turns
// into a clean end of file at a frame boundary) is recovered like a crash in plain RocksDB; an
// authentication failure in a WAL is reported to recovery as an IOError, which fails the open in
// every mode but kSkipAnyCorruptedRecords (a Corruption would make kPointInTimeRecovery stop the
// replay silently, as it does for a CRC mismatch).
constexpr auto kWalMode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;

TEST_F(DbTest, TamperedWalBodyFailsTheOpenInEveryStrictRecoveryMode) {
  const std::string dir = tmp_.path() + "/db";
  {
    Db d;
    ASSERT_TRUE(OpenDb(env_, dir, &d, kWalMode).ok());
    Fill(&d, 0, 500);  // unflushed: only the WAL has it
  }
  auto wals = FilesNamed(dir, ".log");
  ASSERT_EQ(wals.size(), 1u);
  ASSERT_GT(RawSize(wals[0]), 1024u + 3 * (4096 + 40));
  FlipByte(wals[0], 1024 + 12 + 200);  // frame 0: not the tail
  for (auto mode : {rocksdb::WALRecoveryMode::kPointInTimeRecovery,
                    rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords,
                    rocksdb::WALRecoveryMode::kAbsoluteConsistency}) {
    Db d;
    rocksdb::Status s = OpenDb(env_, dir, &d, mode);
    ASSERT_FALSE(s.ok()) << "mode " << static_cast<int>(mode);
    EXPECT_NE(s.ToString().find("[ekv:integrity]"), std::string::npos) << s.ToString();
  }
}

TEST_F(DbTest, TornWalTailRecoversEverythingBeforeIt) {
  const std::string dir = tmp_.path() + "/db";
  {
    Db d;
    ASSERT_TRUE(OpenDb(env_, dir, &d, kWalMode).ok());
    Fill(&d, 0, 500);
  }
  auto wals = FilesNamed(dir, ".log");
  ASSERT_EQ(wals.size(), 1u);
  // Simulate a crash in the middle of writing the last data frame: drop the empty final frame
  // the clean close wrote (a crash writes none) and garble the last bytes before it.
  const uint64_t size = RawSize(wals[0]) - 40;
  WriteRaw(wals[0], ReadRaw(wals[0]).substr(0, size));
  FlipByte(wals[0], size - 3);
  Db d;
  rocksdb::Status s = OpenDb(env_, dir, &d, kWalMode);
  ASSERT_TRUE(s.ok()) << s.ToString();
  bool corrupt = false;
  ExpectIntactOrCorruption(&d, 500, &corrupt);
  EXPECT_FALSE(corrupt);
  // Everything in the frames before the torn one survives.
  const int survivors = [&] {
    int n = 0;
    std::string v;
    for (int i = 0; i < 500; ++i)
      n += d.db->Get(rocksdb::ReadOptions(), d.cfs[i % 2], Key(i), &v).ok();
    return n;
  }();
  EXPECT_GT(survivors, 400);
  EXPECT_LT(survivors, 500);
  EXPECT_GE(ekv_env_torn_tail_count(env_), 1u);
}

TEST_F(DbTest, CApiBridgeLayoutsMatchTheLibrary) {
  // Exactly what RocksDbSharp does: rocksdb_options_t + rocksdb_env_t through the C API.
  const std::string dir = tmp_.path() + "/cdb";
  rocksdb_options_t* db_opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(db_opts, 1);
  rocksdb_options_set_create_missing_column_families(db_opts, 1);
  rocksdb_options_set_env(db_opts, static_cast<rocksdb_env_t*>(ekv_env_rocksdb_env(env_)));
  rocksdb_options_t* ns_opts = rocksdb_options_create();
  char msg[256];
  ASSERT_EQ(ekv_options_set_cf_path(ns_opts, (dir + "/ns_2").c_str(), 0, msg, sizeof(msg)), EKV_OK);
  const char* names[] = {"default", "ns_2"};
  const rocksdb_options_t* cf_opts[] = {db_opts, ns_opts};
  rocksdb_column_family_handle_t* handles[2] = {nullptr, nullptr};
  char* err = nullptr;
  const int before = keys_.new_calls;
  rocksdb_t* db =
      rocksdb_open_column_families(db_opts, dir.c_str(), 2, names, cf_opts, handles, &err);
  ASSERT_EQ(err, nullptr) << err;
  EXPECT_GT(keys_.new_calls, before) << "the Env passed through rocksdb_env_t was not used";
  rocksdb_writeoptions_t* wo = rocksdb_writeoptions_create();
  rocksdb_put_cf(db, wo, handles[1], kCanaryKey.data(), kCanaryKey.size(), kCanaryValue.data(),
                 kCanaryValue.size(), &err);
  ASSERT_EQ(err, nullptr);
  rocksdb_flushoptions_t* fo = rocksdb_flushoptions_create();
  rocksdb_flush_cf(db, fo, handles[1], &err);
  ASSERT_EQ(err, nullptr);
  for (auto* h : handles) rocksdb_column_family_handle_destroy(h);
  rocksdb_close(db);
  rocksdb_flushoptions_destroy(fo);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_options_destroy(ns_opts);
  rocksdb_options_destroy(db_opts);
  EXPECT_FALSE(FilesNamed(dir + "/ns_2", ".sst").empty()) << "cf_paths did not reach RocksDB";
  EXPECT_EQ(FilesContaining(dir, kCanaryValue), std::vector<std::string>());
}

TEST(MemEnvDb, RoundTripInMemory) {
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys, 0, /*mem=*/true);
  const std::string dir = "/ekv-mem-db";
  {
    Db d;
    rocksdb::Status s = OpenDb(env, dir, &d);
    ASSERT_TRUE(s.ok()) << s.ToString();
    Fill(&d, 0, 300);
    for (auto* h : d.cfs) ASSERT_TRUE(d.db->Flush(rocksdb::FlushOptions(), h).ok());
    Fill(&d, 300, 400);
  }
  EXPECT_FALSE(stdfs::exists(dir));
  {
    Db d;
    ASSERT_TRUE(OpenDb(env, dir, &d).ok());
    bool corrupt = false;
    ExpectIntactOrCorruption(&d, 400, &corrupt);
    std::string v;
    ASSERT_TRUE(d.db->Get(rocksdb::ReadOptions(), d.cfs[1], Key(399), &v).ok());
    EXPECT_FALSE(corrupt);
  }
  ekv_env_destroy(env);
}

}  // namespace

// DeleteNamespace drops the column family, then destroys its key. A flush or compaction of the
// dropped family still running then asks for a new file's key and gets EKV_NAMESPACE_DELETED; the
// plugin reports ColumnFamilyDropped, which ends that job quietly. Any other error (as before:
// key unavailable) stops the whole database with a background error.
namespace {
// A background flush of ns_1 is held at its new file's key request while ns_1 is dropped; then
// the request is answered as `deleted` says. Returns whether the database still takes writes.
bool FlushOfADroppedFamilyLeavesTheDatabaseWritable(ekv_env* env, TestKeys* keys,
                                                    const std::string& dir, bool deleted) {
  Db d;
  EXPECT_TRUE(OpenDb(env, dir, &d).ok());
  EXPECT_TRUE(d.db->Put(rocksdb::WriteOptions(), d.cfs[1], "k", "v").ok());
  keys->held_namespace_new = 0;
  keys->hold_namespace_new = true;
  rocksdb::FlushOptions background;
  background.wait = false;
  EXPECT_TRUE(d.db->Flush(background, d.cfs[1]).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (keys->held_namespace_new == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(keys->held_namespace_new.load(), 1) << "the flush never asked for its file's key";
  EXPECT_TRUE(d.db->DropColumnFamily(d.cfs[1]).ok());
  (deleted ? keys->namespace_deleted : keys->unavailable) = true;
  keys->hold_namespace_new = false;
  // The flush job ends (its family is dropped); wait for it through the default family.
  EXPECT_TRUE(d.db->Put(rocksdb::WriteOptions(), d.cfs[0], "probe", "x").ok() || !deleted);
  d.db->Flush(rocksdb::FlushOptions(), d.cfs[0]).PermitUncheckedError();
  keys->namespace_deleted = false;
  keys->unavailable = false;
  return d.db->Put(rocksdb::WriteOptions(), d.cfs[0], "after", "ok").ok();
}
}  // namespace

TEST_F(DbTest, ANewFileInADeletedNamespaceEndsTheJobWithoutStoppingTheDatabase) {
  EXPECT_TRUE(
      FlushOfADroppedFamilyLeavesTheDatabaseWritable(env_, &keys_, tmp_.path() + "/a", true));
  // The control: answered "key unavailable", the same job stops the database's writes.
  EXPECT_FALSE(
      FlushOfADroppedFamilyLeavesTheDatabaseWritable(env_, &keys_, tmp_.path() + "/b", false));
}
