// Synced data survives torn writes (docs/format.md, "Crash guarantees").
//
// A kill -9 during a multi-page pwrite can leave only a prefix of the write on disk (Linux's
// generic_perform_write stops between pages on a fatal signal); the bytes after the cut keep
// their old content. These tests build every such state from two snapshots of a real file (before
// and after a write) and check that each one opens, reports at most a torn tail, and still holds
// every byte that was synced before the write.
#include <gtest/gtest.h>

#include <random>

#include "env_handle.h"
#include "format.h"
#include "test_support.h"

using namespace ekvtest;
using rocksdb::FileOptions;
using rocksdb::IOOptions;
using rocksdb::Slice;

namespace {

constexpr uint32_t kF = 512;

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class TornWriteTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = CreateEnv(&keys_, kF); }
  void TearDown() override { ekv_env_destroy(env_); }

  std::unique_ptr<rocksdb::FSWritableFile> Create(const std::string& path) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    EXPECT_TRUE(env_->fs->NewWritableFile(path, FileOptions(), &f, nullptr).ok());
    return f;
  }
  static void Put(rocksdb::FSWritableFile* f, const std::string& data) {
    ASSERT_TRUE(f->Append(data, IOOptions(), nullptr).ok());
  }

  // Opens `path` like RocksDB's recovery does and checks what it holds: the status is OK or a
  // torn tail (never an integrity error), the content is a prefix of `written` and at least
  // `synced` bytes long.
  void ExpectSyncedPrefix(const std::string& path, const std::string& written, size_t synced,
                          const std::string& what) {
    uint64_t size = 0;
    char msg[512];
    const int32_t rc = ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg));
    ASSERT_TRUE(rc == EKV_OK || rc == EKV_TORN_TAIL) << what << ": " << rc << " " << msg;
    ASSERT_GE(size, synced) << what << ": synced bytes lost";
    ASSERT_LE(size, written.size()) << what;
    std::string back(size, '\0');
    uint64_t got = 0;
    ASSERT_EQ(ekv_file_read(env_, path.c_str(), 0, reinterpret_cast<uint8_t*>(&back[0]), size, &got,
                            msg, sizeof(msg)),
              EKV_OK)
        << what << ": " << msg;
    ASSERT_EQ(got, size) << what;
    ASSERT_TRUE(back == written.substr(0, size)) << what << ": content differs";
  }

  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
};

// Replays a torn pwrite: bytes [from, cut) come from `after`, the rest from `before`.
std::string Tear(const std::string& before, const std::string& after, size_t cut) {
  std::string out = after.substr(0, cut);
  if (before.size() > cut) out += before.substr(cut);
  return out;
}

TEST_F(TornWriteTest, SyncedBytesSurviveEveryCutOfTheNextWrite) {
  const std::string path = tmp_.path() + "/000005.log";
  const std::string a = Bytes(kF + 188, 1), b = Bytes(300, 2), c = Bytes(3 * kF + 77, 3);
  auto f = Create(path);
  Put(f.get(), a);
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());  // a is durable: frames 0 and 1 (short)
  const std::string synced_state = ReadRaw(path);
  Put(f.get(), b);
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());  // b: frame 2, flushed (not synced)
  const std::string before = ReadRaw(path);
  Put(f.get(), c);  // completes frame 2 in place and writes frames 3..5 in one pwrite
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  const std::string after = ReadRaw(path);
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());

  // The synced frames are never written again.
  ASSERT_EQ(after.substr(0, synced_state.size()), synced_state);
  ASSERT_EQ(synced_state.size(), 1024 + (kF + 40) + (188 + 40));

  // Every cut of the last write, at every byte (page boundaries are a subset).
  const std::string written = a + b + c;
  for (size_t cut = synced_state.size(); cut <= after.size(); ++cut) {
    WriteRaw(path, Tear(before, after, cut));
    ExpectSyncedPrefix(path, written, a.size(), "cut at " + std::to_string(cut));
    if (HasFatalFailure()) return;
  }
  // Also a cut of the in-place Flush of frame 2 itself (tail rewrite after the sync).
  for (size_t cut = synced_state.size(); cut <= before.size(); ++cut) {
    WriteRaw(path, Tear(synced_state, before, cut));
    ExpectSyncedPrefix(path, a + b, a.size(), "flush cut at " + std::to_string(cut));
    if (HasFatalFailure()) return;
  }
}

TEST_F(TornWriteTest, GarbledUnsyncedTailFrameKeepsSyncedData) {
  // A power failure can persist any mix of old bytes, new bytes and zeros in the unsynced tail
  // frame. Garble that frame every way we can think of; the synced bytes must all be there.
  const std::string path = tmp_.path() + "/MANIFEST-000003";
  const std::string a = Bytes(2 * kF + 5, 4), b = Bytes(kF - 100, 5);
  auto f = Create(path);
  Put(f.get(), a);
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  const size_t synced_end = RawSize(path);
  Put(f.get(), b);
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  const std::string full = ReadRaw(path);
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string raw = full;
    const size_t from = synced_end + rng() % (raw.size() - synced_end);
    const size_t len = 1 + rng() % (raw.size() - from);
    switch (round % 4) {
      case 0:  // zeros (allocated, never written back)
        for (size_t i = from; i < from + len; ++i) raw[i] = 0;
        break;
      case 1:  // random garbage
        for (size_t i = from; i < from + len; ++i) raw[i] = static_cast<char>(rng());
        break;
      case 2:  // the file ends early
        raw.resize(from);
        break;
      default:  // a single flipped bit
        raw[from] ^= static_cast<char>(1 << (rng() % 8));
        break;
    }
    WriteRaw(path, raw);
    ExpectSyncedPrefix(path, a + b, a.size(), "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_F(TornWriteTest, SstKeepsFixedStrideAcrossSyncAndClose) {
  // RocksDB syncs an SST just before closing it: that must not create a short frame.
  const std::string path = tmp_.path() + "/000009.sst";
  const std::string data = Bytes(3 * kF + 10, 6);
  auto f = Create(path);
  Put(f.get(), data.substr(0, kF + 3));
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  Put(f.get(), data.substr(kF + 3));
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(RawSize(path), 1024 + data.size() + 4 * 40);
  ExpectSyncedPrefix(path, data, data.size(), "sst");
}

TEST_F(TornWriteTest, TamperingBeyondOneFrameIsNotATornTail) {
  // A torn write damages at most the last frame. A damaged header earlier in a log-like file
  // stops the header walk early, which must not pass for a torn tail.
  const std::string path = tmp_.path() + "/000011.log";
  auto f = Create(path);
  for (int i = 0; i < 6; ++i) {
    Put(f.get(), Bytes(100 + 37 * i, 10 + i));
    ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());  // one short frame per record
  }
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  const std::string raw = ReadRaw(path);
  uint64_t size = 0;
  char msg[512];
  for (size_t off : {size_t{1024}, size_t{1024 + 5}, size_t{1024 + 140 + 8}}) {
    std::string bad = raw;
    bad[off] ^= 0x20;  // a header byte of frame 0 or 1
    WriteRaw(path, bad);
    EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY)
        << off << ": " << msg;
  }
  std::string bad = raw;
  bad[1024 + 140 + 40 + 3] ^= 1;  // ciphertext of frame 1
  WriteRaw(path, bad);
  EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  EXPECT_NE(std::string(msg).find("authentication failed for frame 1"), std::string::npos) << msg;
}

}  // namespace
