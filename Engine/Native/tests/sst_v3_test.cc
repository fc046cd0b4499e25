// Format v3 (docs/format.md, "Format v3: indexed frames for immutable files"), and the v2 store
// fixture that proves files of the previous format stay readable.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "env_handle.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
#include "test_support.h"

using namespace ekvtest;
namespace stdfs = std::filesystem;

namespace {

// The fixture under tests/fixtures/v2_store was written by the format v2 code (fixed 4 KiB
// frames for SST files) with the test key callbacks of test_support.cc, by
// DISABLED_GenerateV2StoreFixture below, before format v3 existed.
const std::string kFixtureDir = std::string(EKV_FIXTURE_DIR) + "/v2_store";
constexpr int kFixtureKeys = 3000;

std::string FixtureKey(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "v2key-%06d", i);
  return buf;
}
std::string FixtureValue(int i) {
  return "v2value-" + std::to_string(i * 7919) + std::string(40 + i % 50, 'a' + i % 26);
}

rocksdb::Options FixtureOptions(ekv_env* env) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.env = env->env.get();
  o.compression = rocksdb::kNoCompression;
  return o;
}

uint16_t HeaderVersion(const std::string& path) {
  std::string raw = ReadRaw(path);
  if (raw.size() < 10) return 0;
  return static_cast<uint16_t>(static_cast<uint8_t>(raw[8]) | (static_cast<uint8_t>(raw[9]) << 8));
}

std::vector<std::string> Ssts(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& f : ListFiles(dir)) {
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".sst") == 0) out.push_back(f);
  }
  return out;
}

}  // namespace

// Run by hand (--gtest_also_run_disabled_tests --gtest_filter=*GenerateV2StoreFixture) only with
// the format v2 code; it rewrites the committed fixture.
TEST(V2Fixture, DISABLED_GenerateV2StoreFixture) {
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys);
  stdfs::remove_all(kFixtureDir);
  {
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(FixtureOptions(env), kFixtureDir, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < kFixtureKeys; ++i) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), FixtureKey(i), FixtureValue(i)).ok());
      if (i == kFixtureKeys / 2) {
        ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
      }
    }
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    delete db;
  }
  ekv_env_destroy(env);
  for (const std::string& f : Ssts(kFixtureDir)) EXPECT_EQ(HeaderVersion(f), 2) << f;
  // The info log is not needed to open the store and would only bloat the fixture.
  for (const std::string& f : ListFiles(kFixtureDir)) {
    const std::string name = stdfs::path(f).filename().string();
    if (name.rfind("LOG", 0) == 0 || name == "LOCK") stdfs::remove(f);
  }
}

TEST(V2Fixture, StoreWrittenInFormatV2StaysReadable) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  stdfs::copy(kFixtureDir, dir, stdfs::copy_options::recursive);
  std::vector<std::string> old_ssts = Ssts(dir);
  ASSERT_EQ(old_ssts.size(), 2u) << "fixture missing (tests/fixtures/v2_store)";
  for (const std::string& f : old_ssts) ASSERT_EQ(HeaderVersion(f), 2) << f;
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys);
  {
    rocksdb::Options o = FixtureOptions(env);
    o.create_if_missing = false;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, dir, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::unique_ptr<rocksdb::DB> guard(db);
    std::string v;
    for (int i = 0; i < kFixtureKeys; ++i) {
      s = db->Get(rocksdb::ReadOptions(), FixtureKey(i), &v);
      ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
      ASSERT_EQ(v, FixtureValue(i)) << i;
    }
    // Compaction reads the v2 tables and writes tables in the current format.
    ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
    for (int i = 0; i < kFixtureKeys; i += 7) {
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), FixtureKey(i), &v).ok()) << i;
      ASSERT_EQ(v, FixtureValue(i)) << i;
    }
  }
  ekv_env_destroy(env);
}
