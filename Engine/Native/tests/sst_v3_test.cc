// Format v3 (docs/format.md, "Format v3: indexed frames for immutable files"), and the v2 store
// fixture that proves files of the previous format stay readable.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "env_handle.h"
#include "format.h"
#include "rocksdb/db.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
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
  ekv::ScopedFixedFormatForTests v2;
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
  for (const std::string& f : Ssts(kFixtureDir)) EXPECT_EQ(HeaderVersion(f), 2) << f;  // needs v2
  // The info log is not needed to open the store and would only bloat the fixture.
  for (const std::string& f : ListFiles(kFixtureDir)) {
    const std::string name = stdfs::path(f).filename().string();
    if (name.rfind("LOG", 0) == 0 || name == "LOCK") stdfs::remove(f);
  }
}

// Opens a copy of a fixture store written by older code (SST files in format `old_version`),
// reads every key, and compacts it into tables of the current format, which read back too.
void ExpectFixtureStaysReadable(const std::string& fixture, uint16_t old_version) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  stdfs::copy(fixture, dir, stdfs::copy_options::recursive);
  std::vector<std::string> old_ssts = Ssts(dir);
  ASSERT_EQ(old_ssts.size(), 2u) << "fixture missing (" << fixture << ")";
  for (const std::string& f : old_ssts) ASSERT_EQ(HeaderVersion(f), old_version) << f;
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
    // Compaction reads the old tables and writes tables in the current format (forced: the two
    // tables do not overlap and would otherwise only be moved).
    rocksdb::CompactRangeOptions cro;
    cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(db->CompactRange(cro, nullptr, nullptr).ok());
    for (int i = 0; i < kFixtureKeys; i += 7) {
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), FixtureKey(i), &v).ok()) << i;
      ASSERT_EQ(v, FixtureValue(i)) << i;
    }
  }
  std::vector<std::string> new_ssts = Ssts(dir);
  ASSERT_FALSE(new_ssts.empty());
  for (const std::string& f : new_ssts) EXPECT_EQ(HeaderVersion(f), ekv::kFormatVersionCompact) << f;
  ekv_env_destroy(env);
}

TEST(V2Fixture, StoreWrittenInFormatV2StaysReadable) {
  ExpectFixtureStaysReadable(kFixtureDir, ekv::kFormatVersionFixed);
}

// tests/fixtures/v3_store: the same keys and values as v2_store, written by the format v3 code
// (commit f994f52, DISABLED_GenerateV2StoreFixture of that build) before format v4 existed.
TEST(V3Fixture, StoreWrittenInFormatV3StaysReadable) {
  ExpectFixtureStaysReadable(std::string(EKV_FIXTURE_DIR) + "/v3_store",
                             ekv::kFormatVersionIndexed);
}

namespace {

// Frames opened per RocksDB block read for cold point reads (no block cache; index and filter
// are held by the table readers), and the tables' physical bytes over their logical (= plain
// RocksDB) bytes. Printed for Engine.Bench/results/sst-v3.
struct ColdReadNumbers {
  double frames_per_block_read = 0;
  uint64_t block_reads = 0;
  double table_bytes_over_plain = 0;
};

ColdReadNumbers MeasureColdReads(ekv_env* env, const std::string& dir, int keys, int gets,
                                 rocksdb::CompressionType compression) {
  ColdReadNumbers out;
  rocksdb::Options o;
  o.create_if_missing = true;
  o.env = env->env.get();
  o.compression = compression;
  {
    rocksdb::DB* db = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(o, dir, &db).ok());
    std::unique_ptr<rocksdb::DB> guard(db);
    for (int i = 0; i < keys; ++i) {
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), FixtureKey(i), FixtureValue(i)).ok());
    }
    EXPECT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    EXPECT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  }
  uint64_t physical = 0, logical = 0;
  for (const std::string& f : Ssts(dir)) {
    physical += RawSize(f);
    uint64_t l = 0;
    EXPECT_TRUE(env->fs->GetFileSize(f, rocksdb::IOOptions(), &l, nullptr).ok());
    logical += l;
  }
  out.table_bytes_over_plain = logical == 0 ? 0 : double(physical - logical) / double(logical);
  rocksdb::BlockBasedTableOptions t;
  t.no_block_cache = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.create_if_missing = false;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> guard(db);
  std::string v;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), FixtureKey(0), &v).ok());  // opens the tables
  ekv_stats before, after;
  ekv_env_get_stats(env, &before);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  uint32_t x = 12345;
  for (int n = 0; n < gets; ++n) {
    x = x * 1103515245u + 12345u;
    const int i = static_cast<int>((x >> 8) % static_cast<uint32_t>(keys));
    ekv_stats one_before, one_after;
    ekv_env_get_stats(env, &one_before);
    const uint64_t reads_before = rocksdb::get_perf_context()->block_read_count;
    s = db->Get(rocksdb::ReadOptions(), FixtureKey(i), &v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(v, FixtureValue(i));
    ekv_env_get_stats(env, &one_after);
    // v3: never more frames than blocks read (a frame the reader still holds decrypted costs
    // none).
    if (ekv::g_test_write_format_version != ekv::kFormatVersionFixed) {
      EXPECT_LE(one_after.frames_opened - one_before.frames_opened,
                rocksdb::get_perf_context()->block_read_count - reads_before)
          << "Get " << n;
    }
  }
  out.block_reads = rocksdb::get_perf_context()->block_read_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ekv_env_get_stats(env, &after);
  out.frames_per_block_read =
      out.block_reads == 0 ? 0
                           : double(after.frames_opened - before.frames_opened) / out.block_reads;
  return out;
}

// MeasureColdReads on a fresh store (50k keys, 4,000 Gets), printed as "[label] compression: ..."
// for Engine.Bench/results/sst-v3.
ColdReadNumbers MeasureAndPrintColdReads(const std::string& label, rocksdb::CompressionType c) {
  TestKeys keys;
  TempDir tmp;
  ekv_env* env = CreateEnv(&keys);
  ColdReadNumbers m = MeasureColdReads(env, tmp.path() + "/db", 50000, 4000, c);
  ekv_env_destroy(env);
  std::printf(
      "[%s] %s: cold point reads: %llu block reads, %.3f frames opened per block read; table "
      "bytes over plain %+.3f%%\n",
      label.c_str(), c == rocksdb::kNoCompression ? "uncompressed" : "snappy",
      static_cast<unsigned long long>(m.block_reads), m.frames_per_block_read,
      100 * m.table_bytes_over_plain);
  return m;
}

}  // namespace

TEST(SstV3, ColdPointReadsOpenOneFramePerBlockRead) {
  for (uint16_t version : {ekv::kFormatVersionIndexed, ekv::kFormatVersionCompact}) {
    ekv::ScopedFormatVersionForTests format(version);
    for (rocksdb::CompressionType c : {rocksdb::kNoCompression, rocksdb::kSnappyCompression}) {
      ColdReadNumbers m = MeasureAndPrintColdReads("sst-v" + std::to_string(version), c);
      EXPECT_GE(m.block_reads, 4000u);
      EXPECT_LE(m.frames_per_block_read, 1.0);
      EXPECT_GE(m.frames_per_block_read, 0.9);
      EXPECT_LE(m.table_bytes_over_plain, 0.015);
    }
  }
}

// v4 nonces are prefix || ordinal with a prefix drawn for each writer: two files of the same
// bytes (the same ordinals) share no nonce, so no ciphertext either.
TEST(SstV4, FilesOfTheSameBytesHaveDistinctNoncePrefixesAndCiphertexts) {
  TestKeys keys;
  TempDir tmp;
  ekv_env* env = CreateEnv(&keys);
  std::vector<std::string> raws;
  std::vector<std::string> prefixes;
  for (int i = 0; i < 2; ++i) {
    const std::string path = tmp.path() + "/00003" + std::to_string(i) + ".sst";
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_TRUE(env->fs->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
    ASSERT_TRUE(f->Append(rocksdb::Slice(std::string(3000, 'x')), rocksdb::IOOptions(), nullptr).ok());
    ASSERT_TRUE(f->Close(rocksdb::IOOptions(), nullptr).ok());
    std::string raw = ReadRaw(path);
    ASSERT_EQ(HeaderVersion(path), ekv::kFormatVersionCompact);
    ASSERT_EQ(raw.size(), 1024u + 3000 + 16 + (40 + 8 + 4) + 16);
    prefixes.push_back(raw.substr(1024 + 3016 + 24, 8));  // first bytes of the clear index
    raws.push_back(raw.substr(1024, 3016));
  }
  EXPECT_NE(prefixes[0], prefixes[1]);
  EXPECT_NE(raws[0], raws[1]);
  ekv_env_destroy(env);
}

// ---- Writer and reader of format v3 files at the file-system level ----

namespace {

using rocksdb::IOOptions;
using rocksdb::Slice;

struct Block {
  uint64_t offset;
  size_t size;  // with its 5-byte trailer
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// Writes an SST as RocksDB does with its write buffer off: each block, then its 5-byte trailer,
// in separate appends; a Sync before Close. Block sizes vary (some tiny, some larger than F).
std::string WriteBlocks(rocksdb::FileSystem* fs, const std::string& path, int blocks,
                        std::vector<Block>* out, const std::vector<size_t>& sizes = {}) {
  std::unique_ptr<rocksdb::FSWritableFile> f;
  EXPECT_TRUE(fs->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
  std::string all;
  for (int b = 0; b < blocks; ++b) {
    size_t n =
        sizes.empty() ? 50 + (static_cast<size_t>(b) * 7919u) % 9000 : sizes[b % sizes.size()];
    std::string block = RandomBytes(n, b + 1), trailer = RandomBytes(5, 1000 + b);
    out->push_back({all.size(), n + 5});
    EXPECT_TRUE(f->Append(Slice(block), IOOptions(), nullptr).ok());
    EXPECT_TRUE(f->Append(Slice(trailer), IOOptions(), nullptr).ok());
    all += block + trailer;
  }
  EXPECT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  EXPECT_TRUE(f->Close(IOOptions(), nullptr).ok());
  return all;
}

rocksdb::IOStatus OpenRandom(rocksdb::FileSystem* fs, const std::string& path,
                             std::unique_ptr<rocksdb::FSRandomAccessFile>* f) {
  return fs->NewRandomAccessFile(path, rocksdb::FileOptions(), f, nullptr);
}

struct StoredFrame {
  uint64_t start;  // physical offset
  uint32_t n;      // plaintext bytes
  bool index;      // an index frame (else a data frame)
};

uint32_t GetU32At(const std::string& raw, uint64_t at) {
  uint32_t v = 0;
  std::memcpy(&v, raw.data() + at, 4);
  return v;
}

// Every frame of a closed v3 or v4 file, in file order (data frames, then index frames), found
// without the key: v3 by walking the lengths in the frame headers; v4 from the trailer and the
// frame index, which v4 keeps in clear (its data frames have no header).
std::vector<StoredFrame> StoredFrames(const std::string& raw) {
  std::vector<StoredFrame> out;
  const uint16_t version =
      static_cast<uint16_t>(static_cast<uint8_t>(raw[8]) | (static_cast<uint8_t>(raw[9]) << 8));
  if (version != ekv::kFormatVersionCompact) {
    uint64_t pos = 1024;
    while (pos + 16 < raw.size()) {
      const uint32_t n = GetU32At(raw, pos);
      out.push_back({pos, n, false});
      pos += 40 + n;
    }
    EXPECT_EQ(pos + 16, raw.size());
    // The index frames are the last ceil(4k / 8F) frames (k data frames).
    const uint32_t k = GetU32At(raw, raw.size() - 8);
    for (size_t i = k; i < out.size(); ++i) out[i].index = true;
    return out;
  }
  const uint32_t f = GetU32At(raw, 12);
  const uint32_t k = GetU32At(raw, raw.size() - 8);
  EXPECT_EQ(raw.compare(raw.size() - 4, 4, "EKI4"), 0);
  const uint64_t stream = ekv::IndexStreamBytes(version, k);
  const uint64_t index_at = raw.size() - 16 - ekv::IndexRegionSize(stream, f);
  std::string entries;
  std::vector<StoredFrame> index_frames;
  for (uint64_t pos = index_at; pos < raw.size() - 16;) {
    const uint32_t n = GetU32At(raw, pos);
    index_frames.push_back({pos, n, true});
    entries.append(raw, pos + 24, n);  // header (12) || nonce (12) || the stream in clear
    pos += 40 + n;
  }
  EXPECT_EQ(entries.size(), stream);
  uint64_t pos = 1024;
  for (uint32_t i = 0; i < k; ++i) {
    const uint32_t n = GetU32At(entries, ekv::kNoncePrefixSize + 4 * uint64_t{i});
    out.push_back({pos, n, false});
    pos += 16 + n;
  }
  EXPECT_EQ(pos, index_at);
  out.insert(out.end(), index_frames.begin(), index_frames.end());
  return out;
}

// Physical offsets of every frame (data and index); the trailer follows the last.
std::vector<uint64_t> FrameStarts(const std::string& raw) {
  std::vector<uint64_t> out;
  for (const StoredFrame& fr : StoredFrames(raw)) out.push_back(fr.start);
  return out;
}

// The data frames a v4 writer makes of blocks appended as WriteBlocks does (block, then its
// 5-byte trailer; blocks of at most 4F): a block joins the open frame while that holds less than
// F/2 (frame_index.h, IndexedMinFrame).
size_t ExpectedV4DataFrames(const std::vector<Block>& blocks, uint32_t f = 4096) {
  size_t frames = 0, open = 0;
  for (const Block& b : blocks) {
    const size_t n = b.size - 5;
    if (open > 0 && (open >= f / 2 || open + n > 8 * f)) {
      ++frames;
      open = 0;
    }
    open += b.size;
  }
  return frames + (open > 0 ? 1 : 0);
}

// Every frame of a raw v3/v4 file holds at most `cap` plaintext bytes.
void ExpectEveryFrameAtMost(const std::string& raw, uint32_t cap) {
  for (const StoredFrame& fr : StoredFrames(raw)) EXPECT_LE(fr.n, cap) << "frame at " << fr.start;
}

// Runs every test on files written in format v3 (still read: older stores) and v4 (written now).
class SstV3Fs : public ::testing::TestWithParam<uint16_t> {
 protected:
  void SetUp() override {
    format_ = std::make_unique<ekv::ScopedFormatVersionForTests>(GetParam());
    env_ = CreateEnv(&keys_);
    fs_ = env_->fs.get();
  }
  void TearDown() override {
    ekv_env_destroy(env_);
    format_.reset();
  }
  uint64_t FramesOpened() {
    ekv_stats s;
    ekv_env_get_stats(env_, &s);
    return s.frames_opened;
  }
  // Opening fails with an integrity error.
  void ExpectOpenIntegrity(const std::string& path, const std::string& what) {
    std::unique_ptr<rocksdb::FSRandomAccessFile> f;
    rocksdb::IOStatus s = OpenRandom(fs_, path, &f);
    EXPECT_TRUE(s.IsCorruption()) << what << ": " << s.ToString();
    EXPECT_NE(s.ToString().find("[ekv:integrity]"), std::string::npos)
        << what << ": " << s.ToString();
  }
  // Opening succeeds or fails with an integrity error; reading every block never returns
  // wrong bytes, and something fails.
  void ExpectNoWrongData(const std::string& path, const std::string& all,
                         const std::vector<Block>& blocks, const std::string& what) {
    std::unique_ptr<rocksdb::FSRandomAccessFile> f;
    rocksdb::IOStatus s = OpenRandom(fs_, path, &f);
    if (!s.ok()) {
      EXPECT_TRUE(s.IsCorruption()) << what << ": " << s.ToString();
      return;
    }
    bool failed = false;
    std::string scratch(64 << 10, '\0');
    for (const Block& b : blocks) {
      Slice got;
      s = f->Read(b.offset, b.size, IOOptions(), &got, &scratch[0], nullptr);
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << what << ": " << s.ToString();
        failed = true;
        continue;
      }
      EXPECT_EQ(got.ToString(), all.substr(b.offset, b.size)) << what;
    }
    EXPECT_TRUE(failed) << what << ": tampering went unnoticed";
  }

  std::unique_ptr<ekv::ScopedFormatVersionForTests> format_;
  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
  rocksdb::FileSystem* fs_ = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Formats, SstV3Fs,
                         ::testing::Values(ekv::kFormatVersionIndexed, ekv::kFormatVersionCompact),
                         [](const ::testing::TestParamInfo<uint16_t>& p) {
                           return "v" + std::to_string(p.param);
                         });

}  // namespace

TEST_P(SstV3Fs, EveryBlockReadOpensExactlyOneFrame) {
  const std::string path = tmp_.path() + "/000001.sst";
  std::vector<Block> blocks;
  const std::string all = WriteBlocks(fs_, path, 300, &blocks);
  EXPECT_EQ(HeaderVersion(path), GetParam());
  if (GetParam() == ekv::kFormatVersionCompact) {
    // v4: a frame per block of F/2 or more (its trailer joins it), smaller blocks share one up
    // to F/2; 16 bytes of overhead each, and the index in clear: P (8) and 4 bytes per frame,
    // 40 per index frame.
    std::vector<StoredFrame> frames = StoredFrames(ReadRaw(path));
    size_t data = 0;
    for (const StoredFrame& fr : frames) data += fr.index ? 0 : 1;
    const size_t expected = ExpectedV4DataFrames(blocks);
    EXPECT_EQ(data, expected);
    EXPECT_GT(expected, blocks.size() / 2);  // most blocks here are over F/2
    EXPECT_EQ(RawSize(path), 1024 + all.size() + 16 * expected +
                                 ekv::IndexRegionSize(8 + 4 * expected, 4096) + 16);
  }
  uint64_t size = 0;
  ASSERT_TRUE(fs_->GetFileSize(path, IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, all.size());
  std::unique_ptr<rocksdb::FSRandomAccessFile> f;
  ASSERT_TRUE(OpenRandom(fs_, path, &f).ok());
  std::string scratch(64 << 10, '\0');
  // Out of order, so no read is served by the reader's one-frame cache.
  for (size_t k = 0; k < blocks.size(); ++k) {
    const Block& b = blocks[(k * 37) % blocks.size()];
    const uint64_t before = FramesOpened();
    Slice got;
    ASSERT_TRUE(f->Read(b.offset, b.size, IOOptions(), &got, &scratch[0], nullptr).ok());
    ASSERT_EQ(got.ToString(), all.substr(b.offset, b.size));
    // Tiny blocks share a frame with their neighbours; still one frame per read.
    EXPECT_EQ(FramesOpened() - before, 1u) << "block at " << b.offset << " size " << b.size;
  }
  // Reads across blocks and the whole file still work.
  Slice got;
  std::string whole(all.size(), '\0');
  ASSERT_TRUE(f->Read(0, all.size(), IOOptions(), &got, &whole[0], nullptr).ok());
  EXPECT_EQ(got.ToString(), all);
}

TEST_P(SstV3Fs, FramesReachTheBaseFileInLargeWritesAndFlushWritesTheRest) {
  // RocksDB's own write buffer is off for table files (one append per block), so the plugin
  // batches the sealed frames and writes them in writes of at least 256 KiB
  // (kIndexedWriteBatch); Flush (and Sync, Close) writes what is waiting. A crash before a Flush
  // loses only what was appended since the last one: the file then ends in whole frames, none of
  // which is ever rewritten, and without its frame index it is not a closed file (RocksDB keeps an
  // SST only once it was synced and closed).
  const std::string path = tmp_.path() + "/000020.sst";
  const uint64_t batch = 256 << 10;
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs_->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
  std::string all;
  std::vector<Block> blocks;
  uint64_t last_raw = RawSize(path), writes = 0;
  EXPECT_EQ(last_raw, 1024u);  // the header only
  auto append_blocks = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const int b = static_cast<int>(blocks.size());
      const size_t n = 1500 + (static_cast<size_t>(b) * 7919u) % 3000;
      std::string block = RandomBytes(n, b + 1), trailer = RandomBytes(5, 1000 + b);
      blocks.push_back({all.size(), n + 5});
      ASSERT_TRUE(f->Append(Slice(block), IOOptions(), nullptr).ok());
      ASSERT_TRUE(f->Append(Slice(trailer), IOOptions(), nullptr).ok());
      all += block + trailer;
      const uint64_t raw = RawSize(path);
      if (raw != last_raw) {
        ++writes;
        EXPECT_GE(raw - last_raw, batch) << "a write of less than 256 KiB before any Flush";
        last_raw = raw;
      }
    }
  };
  append_blocks(900);  // ~2.6 MiB of blocks
  EXPECT_GE(writes, 1u);
  EXPECT_LE(writes, (all.size() + 40 * blocks.size()) / batch);  // at most one frame per block
  // The bytes appended since the last write are not on disk before Flush.
  EXPECT_LT(RawSize(path), 1024 + all.size());
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  const std::string flushed = ReadRaw(path);
  last_raw = flushed.size();
  // Whole frames holding every byte appended so far (the open frame was closed by Flush).
  if (GetParam() == ekv::kFormatVersionCompact) {
    // v4: 16-byte-overhead frames (headerless: the index is written at Close).
    EXPECT_EQ(flushed.size(), 1024 + all.size() + 16 * ExpectedV4DataFrames(blocks));
  } else {
    uint64_t pos = 1024, logical = 0;
    while (pos + 40 <= flushed.size()) {
      uint32_t n = 0;
      std::memcpy(&n, flushed.data() + pos, 4);
      pos += 40 + n;
      logical += n;
    }
    EXPECT_EQ(pos, flushed.size());
    EXPECT_EQ(logical, all.size());
  }
  // Appends after the Flush, less than a batch: nothing reaches the file, nothing is rewritten.
  const size_t flushed_logical = all.size();
  const uint64_t writes_before = writes;
  append_blocks(50);  // ~150 KB, less than a batch
  EXPECT_EQ(writes, writes_before);
  EXPECT_EQ(ReadRaw(path), flushed);
  // "Crash" here: what is on disk is the flushed prefix, which is not readable as a closed SST.
  const std::string crashed = tmp_.path() + "/000021.sst";
  WriteRaw(crashed, flushed);
  ExpectOpenIntegrity(crashed, "crash after Flush, before Close");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  const std::string raw = ReadRaw(path);
  EXPECT_EQ(raw.compare(0, flushed.size(), flushed), 0) << "flushed frames were rewritten";
  // The closed file reads back, one frame per block read.
  std::unique_ptr<rocksdb::FSRandomAccessFile> r;
  ASSERT_TRUE(OpenRandom(fs_, path, &r).ok());
  std::string scratch(64 << 10, '\0');
  for (size_t k = 0; k < blocks.size(); ++k) {
    const Block& b = blocks[(k * 37) % blocks.size()];
    const uint64_t before = FramesOpened();
    Slice got;
    ASSERT_TRUE(r->Read(b.offset, b.size, IOOptions(), &got, &scratch[0], nullptr).ok());
    ASSERT_EQ(got.ToString(), all.substr(b.offset, b.size));
    EXPECT_EQ(FramesOpened() - before, 1u) << "block at " << b.offset;
  }
  EXPECT_GT(all.size(), flushed_logical);
}

TEST_P(SstV3Fs, LargeAppendsAreCutIntoFrameSizedFrames) {
  // RocksDB's own write buffer (SstFileWriter, or when it is on) appends 64 KiB+ chunks.
  const std::string path = tmp_.path() + "/000002.sst";
  const std::string all = RandomBytes(300000, 7);
  {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_TRUE(fs_->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
    for (size_t at = 0; at < all.size(); at += 65536) {
      ASSERT_TRUE(f->Append(Slice(all.data() + at, std::min<size_t>(65536, all.size() - at)),
                            IOOptions(), nullptr)
                      .ok());
    }
    ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  }
  ExpectEveryFrameAtMost(ReadRaw(path), 4096u);
  std::unique_ptr<rocksdb::FSRandomAccessFile> f;
  ASSERT_TRUE(OpenRandom(fs_, path, &f).ok());
  std::string scratch(all.size(), '\0');
  Slice got;
  ASSERT_TRUE(f->Read(1000, 200000, IOOptions(), &got, &scratch[0], nullptr).ok());
  EXPECT_EQ(got.ToString(), all.substr(1000, 200000));
}

TEST_P(SstV3Fs, AHugeAppendIsWrittenInBatchesAndReadsBack) {
  // An append far larger than the write batch (a blob, SstFileWriter) is cut into F-byte frames
  // and written while it is sealed, at the right offsets.
  const std::string path = tmp_.path() + "/000022.sst";
  const std::string all = RandomBytes((3u << 20) + 1234, 11);
  {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_TRUE(fs_->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
    ASSERT_TRUE(f->Append(Slice(all), IOOptions(), nullptr).ok());
    // Written during the append: all but the last partial batch.
    EXPECT_GE(RawSize(path), 1024u + (2u << 20));
    ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
    ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  }
  ExpectEveryFrameAtMost(ReadRaw(path), 4096u);
  std::unique_ptr<rocksdb::FSRandomAccessFile> f;
  ASSERT_TRUE(OpenRandom(fs_, path, &f).ok());
  std::string scratch(all.size(), '\0');
  Slice got;
  ASSERT_TRUE(f->Read(0, all.size(), IOOptions(), &got, &scratch[0], nullptr).ok());
  EXPECT_EQ(got.ToString(), all);
}

TEST_P(SstV3Fs, TruncationAtEveryFrameBoundaryIsIntegrityError) {
  const std::string path = tmp_.path() + "/000003.sst";
  std::vector<Block> blocks;
  WriteBlocks(fs_, path, 40, &blocks);
  const std::string raw = ReadRaw(path);
  std::vector<uint64_t> cuts = FrameStarts(raw);
  cuts.push_back(raw.size() - 16);  // the trailer missing
  cuts.push_back(raw.size() - 1);   // the trailer cut
  cuts.push_back(1024);             // header only
  const std::string cut = tmp_.path() + "/000004.sst";
  for (uint64_t at : cuts) {
    WriteRaw(cut, raw.substr(0, at));
    ExpectOpenIntegrity(cut, "cut at " + std::to_string(at));
  }
  // A frame-aligned prefix with the original trailer appended: the index frame is missing.
  WriteRaw(cut, raw.substr(0, cuts[cuts.size() - 4]) + raw.substr(raw.size() - 16));
  ExpectOpenIntegrity(cut, "index cut out");
}

TEST_P(SstV3Fs, IndexOrTrailerTamperIsIntegrityError) {
  const std::string path = tmp_.path() + "/000005.sst";
  std::vector<Block> blocks;
  WriteBlocks(fs_, path, 40, &blocks);
  const std::string raw = ReadRaw(path);
  const std::vector<uint64_t> starts = FrameStarts(raw);
  const uint64_t index_at = starts.back();  // 40 data frames' index fits one index frame
  const std::string bad = tmp_.path() + "/000006.sst";
  for (uint64_t at = index_at; at < raw.size(); ++at) {
    std::string t = raw;
    t[at] ^= 0x01;
    WriteRaw(bad, t);
    ExpectOpenIntegrity(bad, "flip at " + std::to_string(at));
  }
}

TEST_P(SstV3Fs, ReorderedOrForeignFramesAreIntegrityErrors) {
  // Equal-sized blocks: every data frame has the same length, so swapped frames fit exactly.
  const std::string a = tmp_.path() + "/000007.sst", b = tmp_.path() + "/000008.sst";
  std::vector<Block> blocks, other;
  const std::string all = WriteBlocks(fs_, a, 12, &blocks, {5000});
  WriteBlocks(fs_, b, 12, &other, {5000});
  const std::string raw = ReadRaw(a), raw_b = ReadRaw(b);
  const std::vector<uint64_t> starts = FrameStarts(raw);
  ASSERT_EQ(starts.size(), 13u);  // 12 data frames + 1 index frame
  const size_t len = starts[1] - starts[0];
  const std::string bad = tmp_.path() + "/000009.sst";
  {  // swap frames 3 and 7
    std::string t = raw;
    t.replace(starts[3], len, raw.substr(starts[7], len));
    t.replace(starts[7], len, raw.substr(starts[3], len));
    WriteRaw(bad, t);
    ExpectNoWrongData(bad, all, blocks, "swap 3/7");
  }
  {  // frame 5 duplicated over frame 6
    std::string t = raw;
    t.replace(starts[6], len, raw.substr(starts[5], len));
    WriteRaw(bad, t);
    ExpectNoWrongData(bad, all, blocks, "duplicate 5 over 6");
  }
  {  // frame 4 from another file at the same position
    std::string t = raw;
    t.replace(starts[4], len, raw_b.substr(starts[4], len));
    WriteRaw(bad, t);
    ExpectNoWrongData(bad, all, blocks, "foreign frame 4");
  }
  {  // the other file's index and trailer
    std::string t = raw.substr(0, starts.back()) + raw_b.substr(starts.back());
    WriteRaw(bad, t);
    ExpectOpenIntegrity(bad, "foreign index");
  }
}

TEST_P(SstV3Fs, DataFrameTamperIsIntegrityErrorOnRead) {
  const std::string path = tmp_.path() + "/000010.sst";
  std::vector<Block> blocks;
  const std::string all = WriteBlocks(fs_, path, 20, &blocks);
  const std::string raw = ReadRaw(path);
  const std::vector<uint64_t> starts = FrameStarts(raw);
  const std::string bad = tmp_.path() + "/000011.sst";
  for (size_t i = 0; i + 1 < starts.size(); i += 3) {
    for (uint64_t off : {uint64_t{0}, uint64_t{5}, uint64_t{13}, uint64_t{30}}) {
      std::string t = raw;
      t[starts[i] + off] ^= 0x40;
      WriteRaw(bad, t);
      ExpectNoWrongData(bad, all, blocks, "frame " + std::to_string(i) + "+" + std::to_string(off));
    }
  }
}

TEST_P(SstV3Fs, UnclosedFileIsNotReadableAsClosed) {
  const std::string path = tmp_.path() + "/000012.sst";
  {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_TRUE(fs_->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
    ASSERT_TRUE(f->Append(Slice(RandomBytes(5000, 3)), IOOptions(), nullptr).ok());
    ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
    // Destroyed without Close: no frame index.
  }
  ExpectOpenIntegrity(path, "never closed");
}

TEST_P(SstV3Fs, FrameIndexIsChargedToTheMemoryGauge) {
  const std::string path = tmp_.path() + "/000013.sst";
  std::vector<Block> blocks;
  WriteBlocks(fs_, path, 2000, &blocks, {5000});
  ekv_memory_stats before;
  ekv_memory_stats_get(&before);
  std::unique_ptr<rocksdb::FSRandomAccessFile> f;
  ASSERT_TRUE(OpenRandom(fs_, path, &f).ok());
  ekv_memory_stats open;
  ekv_memory_stats_get(&open);
  // 2000 frames (one per 5005-byte block) at 8 bytes each.
  EXPECT_GE(open.frame_index_bytes - before.frame_index_bytes, 2000u * 8);
  f.reset();
  ekv_memory_stats closed;
  ekv_memory_stats_get(&closed);
  EXPECT_EQ(closed.frame_index_bytes, before.frame_index_bytes);
}

TEST_P(SstV3Fs, V3FileRenamedToALogLikeNameIsIntegrityError) {
  const std::string path = tmp_.path() + "/000014.sst";
  std::vector<Block> blocks;
  WriteBlocks(fs_, path, 3, &blocks);
  const std::string renamed = tmp_.path() + "/000015.log";
  ASSERT_TRUE(fs_->RenameFile(path, renamed, IOOptions(), nullptr).ok());
  std::unique_ptr<rocksdb::FSSequentialFile> f;
  rocksdb::IOStatus s = fs_->NewSequentialFile(renamed, rocksdb::FileOptions(), &f, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("[ekv:integrity]"), std::string::npos) << s.ToString();
}

// The same measurement with SST files written in format v2 (fixed 4 KiB stride), for comparison:
// a block read there straddles two frames most of the time.
TEST(SstV3, FormatV2BaselineStraddlesFrames) {
  ekv::ScopedFixedFormatForTests v2;
  for (rocksdb::CompressionType c : {rocksdb::kNoCompression, rocksdb::kSnappyCompression}) {
    ColdReadNumbers m = MeasureAndPrintColdReads("sst-v2 baseline", c);
    // Smaller (compressed) blocks straddle less often.
    EXPECT_GT(m.frames_per_block_read, c == rocksdb::kNoCompression ? 1.5 : 1.1);
  }
}

// A v4 writer whose seal fails is abandoned (docs/format.md, "Format v4": the failed seal may have
// used the nonce of its ordinal, so that ordinal is never sealed again): the append fails, every
// later call fails without sealing anything (also the destructor), and the file never becomes a
// closed SST.
TEST(SstV4, AFailedSealAbandonsTheWriter) {
  TestKeys keys;
  TempDir tmp;
  ekv_env* env = CreateEnv(&keys);
  const std::string path = tmp.path() + "/000040.sst";
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(env->fs->NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
  const rocksdb::IOOptions io;
  ASSERT_TRUE(f->Append(rocksdb::Slice(std::string(3000, 'a')), io, nullptr).ok());  // frame 0 open
  ekv_stats before;
  ekv_env_get_stats(env, &before);
  ekv::g_test_fail_compact_seals = 1;
  // The next block closes frame 0 (it holds more than F/2): that seal fails.
  rocksdb::IOStatus s = f->Append(rocksdb::Slice(std::string(3000, 'b')), io, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("injected"), std::string::npos) << s.ToString();
  EXPECT_EQ(ekv::g_test_fail_compact_seals.load(), 0);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(f->Append(rocksdb::Slice(std::string(3000, 'c')), io, nullptr).ok());
    EXPECT_FALSE(f->Flush(io, nullptr).ok());
    EXPECT_FALSE(f->Sync(io, nullptr).ok());
  }
  EXPECT_FALSE(f->Close(io, nullptr).ok());
  f.reset();
  ekv_stats after;
  ekv_env_get_stats(env, &after);
  EXPECT_EQ(after.frames_sealed, before.frames_sealed) << "a seal after the failed one";
  std::unique_ptr<rocksdb::FSRandomAccessFile> r;
  s = env->fs->NewRandomAccessFile(path, rocksdb::FileOptions(), &r, nullptr);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  ekv_env_destroy(env);
}

// FrameMap::Find searches every 16th start first, then the 16 after it: every offset of a map of
// full frames followed by thousands of frames of varying sizes maps to the frame holding it, also
// after Resize cuts the map inside and at the edges of a group.
TEST(FrameMapFind, EveryOffsetMapsToItsFrameAcrossGroupsAndResizes) {
  ekv::FrameMap map(4096, 16);
  map.Push(4096);
  map.Push(4096);  // two full frames, kept as a count
  std::vector<uint64_t> starts = {0, 4096};
  uint32_t x = 7;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1103515245u + 12345u;
    starts.push_back(map.logical_size());
    map.Push(1 + (x >> 8) % 9000);
  }
  auto check = [&](size_t count) {
    ASSERT_EQ(map.count(), count);
    for (size_t i = 0; i < count; ++i) {
      const uint64_t s = starts[i], e = map.Start(i) + map.Bytes(i);
      ASSERT_EQ(map.Start(i), s) << i;
      ASSERT_EQ(map.Find(s), i) << i;
      ASSERT_EQ(map.Find(e - 1), i) << i;
      ASSERT_EQ(map.Find(s + (e - s) / 2), i) << i;
      ASSERT_EQ(map.Physical(i), 1024 + 16 * i + s) << i;
    }
  };
  check(starts.size());
  for (size_t n : {size_t{4000}, size_t{2 + 64 * 10 + 1}, size_t{2 + 64 * 10}, size_t{2 + 64 * 10 - 1},
                   size_t{3}, size_t{2}}) {
    map.Resize(n);
    check(n);
  }
  // Growing again after a cut rebuilds the groups consistently.
  starts.resize(2);
  for (int i = 0; i < 300; ++i) {
    starts.push_back(map.logical_size());
    map.Push(100 + i);
  }
  check(starts.size());
}
