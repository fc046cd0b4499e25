// Synced data survives torn writes (docs/format.md, "Crash guarantees").
//
// A kill -9 during a multi-page pwrite can leave only a prefix of the write on disk (Linux's
// generic_perform_write stops between pages on a fatal signal); the bytes after the cut keep
// their old content. A power failure can mix old and new sectors of what was written since the
// last sync. These tests build such states from snapshots of a real file (before and after a
// write), cutting at every 512-byte sector boundary (a superset of page boundaries) for many
// alignments of the frames, and check that each one opens, reports at most a torn tail, and
// still holds every byte that was synced before the write.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "env_handle.h"
#include "format.h"
#include "test_support.h"

using namespace ekvtest;
using rocksdb::FileOptions;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
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
  int cuts = 0;
  for (size_t shift = 0; shift < kF; shift += 13) {  // moves frames across sector boundaries
    const std::string a = Bytes(kF + 1 + shift, 1), b = Bytes(300, 2);
    const std::string c = Bytes(3 * kF + 77, 3);
    auto f = Create(path);
    Put(f.get(), a);
    ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());  // a is durable: frame 0 and a short one
    const std::string synced_state = ReadRaw(path);
    Put(f.get(), b);
    ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());  // b: frame 3, flushed (not synced)
    const std::string before = ReadRaw(path);
    Put(f.get(), c);  // frame 3 was closed by the Flush: c fills frames 4..7 in one pwrite
    ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
    const std::string after = ReadRaw(path);
    ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
    f.reset();

    // The synced frames are never written again.
    ASSERT_EQ(after.substr(0, synced_state.size()), synced_state);
    // frame 0, a short frame, and the empty sync marker
    ASSERT_EQ(synced_state.size(), 1024 + (kF + 40) + (1 + shift + 40) + 40);

    // Every sector-aligned cut of the last write, and of the Flush that wrote frame 3.
    const std::string written = a + b + c;
    for (size_t cut = synced_state.size() / 512 * 512; cut <= after.size(); cut += 512) {
      const size_t at = std::max(cut, synced_state.size());
      WriteRaw(path, Tear(before, after, at));
      ExpectSyncedPrefix(path, written, a.size(),
                         "shift " + std::to_string(shift) + " cut " + std::to_string(at));
      WriteRaw(path, Tear(synced_state, before, std::min(at, before.size())));
      ExpectSyncedPrefix(path, a + b, a.size(), "flush cut " + std::to_string(at));
      if (HasFatalFailure()) return;
      ++cuts;
    }
    WriteRaw(path, after);  // the file is recreated next round
    ASSERT_TRUE(env_->fs->DeleteFile(path, IOOptions(), nullptr).ok());
  }
  EXPECT_GT(cuts, 100);
}

TEST_F(TornWriteTest, PowerLossMixesOfTheUnsyncedTailFrameKeepSyncedData) {
  // Two flushed, unsynced frames after a Sync; a power failure can persist any mix of old and
  // new sectors of the unsynced region, and the old or the new file size.
  const std::string path = tmp_.path() + "/MANIFEST-000003";
  const std::string a = Bytes(2 * kF + 5, 4), b = Bytes(100, 5), c = Bytes(kF - 300, 6);
  auto f = Create(path);
  Put(f.get(), a);
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  Put(f.get(), b);
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  const std::string before = ReadRaw(path);
  Put(f.get(), c);
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  // The state a power failure hits (Close would append the final frame and, the file having been
  // synced, sync it: nothing unsynced would be left).
  const std::string after = ReadRaw(path);
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string raw = after;
    for (size_t sector = 0; sector < raw.size(); sector += 512) {
      if (rng() % 2 == 0) continue;  // this sector kept its new content
      for (size_t i = sector; i < std::min(sector + 512, raw.size()); ++i) {
        raw[i] = i < before.size() ? before[i] : 0;
      }
    }
    if (rng() % 2 == 0) raw.resize(before.size());
    WriteRaw(path, raw);
    ExpectSyncedPrefix(path, a + b + c, a.size(), "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_F(TornWriteTest, DamageToTheLastSyncedFrameIsAnIntegrityErrorNotATornTail) {
  // Regression (tamper campaign seed 629361054, mutations #1861 and #2581): a flipped byte in
  // the last frame of a synced MANIFEST read as a torn write, so RocksDB dropped the last edit
  // (a flush whose WAL it had already deleted) and 30 acknowledged keys vanished silently. The
  // empty marker frame written after each Sync makes the synced frame a non-last frame.
  const std::string path = tmp_.path() + "/MANIFEST-000007";
  const std::string a = Bytes(300, 21), b = Bytes(170, 22);
  auto f = Create(path);
  Put(f.get(), a);
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  Put(f.get(), b);
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());  // nothing new: no second marker
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  const std::string raw = ReadRaw(path);
  // a, marker, b, marker, final frame (Close)
  const size_t fa = 1024, fm1 = fa + 300 + 40, fb = fm1 + 40, fm2 = fb + 170 + 40;
  const size_t ffinal = fm2 + 40;
  ASSERT_EQ(raw.size(), ffinal + 40);
  uint64_t size = 0;
  char msg[512];
  for (size_t off : {fb + 12 + 12 + 5, fb + 12 + 12 + 169, fb + 12 + 2, fa + 40}) {
    std::string bad = raw;
    bad[off] ^= 0x5a;  // ciphertext, nonce or tag of a synced data frame
    WriteRaw(path, bad);
    EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY)
        << "offset " << off << ": " << msg;
  }
  // Damage to the last frame (the empty final frame) is a torn tail that loses nothing; only a
  // caller that knows the file was closed (the engine's live-log record) refuses it.
  std::string bad = raw;
  bad[ffinal + 20] ^= 0x5a;
  WriteRaw(path, bad);
  EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_TORN_TAIL) << msg;
  EXPECT_EQ(size, a.size() + b.size());
  ExpectSyncedPrefix(path, a + b, a.size() + b.size(), "damaged marker");
}

TEST_F(TornWriteTest, SstKeepsFixedStrideAcrossSyncAndClose) {
  ekv::ScopedFixedFormatForTests v2;  // the v2 (fixed stride) layout; v3: sst_v3_test.cc
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
  // Each record is a data frame followed by the empty sync marker: d0 m0 d1 m1 ... (the data
  // frame of record i has index 2i).
  std::vector<size_t> d(6);
  for (int i = 0, at = 1024; i < 6; ++i) {
    d[i] = at;
    at += (100 + 37 * i + 40) + 40;
  }
  ASSERT_EQ(raw.size(), d[5] + (100 + 37 * 5 + 40) + 40 + 40);  // ... and the final frame
  for (size_t off : {d[0], d[0] + 5, d[1] + 8}) {
    std::string bad = raw;
    bad[off] ^= 0x20;  // a header byte of record 0 or 1
    WriteRaw(path, bad);
    EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY)
        << off << ": " << msg;
  }
  // Swapping or duplicating small synced frames near the end stays within F + 40 bytes, but
  // leaves later frames behind: not a torn write.
  const size_t len3 = 100 + 37 * 3 + 40, len4 = 100 + 37 * 4 + 40;
  std::string swapped = raw.substr(0, d[3]) + raw.substr(d[4], len4) +
                        raw.substr(d[3] + len3, 40) + raw.substr(d[3], len3) +
                        raw.substr(d[4] + len4);
  ASSERT_EQ(swapped.size(), raw.size());
  WriteRaw(path, swapped);
  EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  std::string duplicated = raw;
  duplicated.replace(d[4], len3, raw.substr(d[3], len3));  // record 3 over record 4
  WriteRaw(path, duplicated);
  EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  std::string bad = raw;
  bad[d[1] + 40 + 3] ^= 1;  // ciphertext of record 1 (frame 2)
  WriteRaw(path, bad);
  EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  EXPECT_NE(std::string(msg).find("authentication failed for frame 2"), std::string::npos) << msg;

  // A one-frame file with the header of another file (same key scope): its only frame header no
  // longer checks out under the spliced file id; a crash cannot produce that.
  const std::string identity = tmp_.path() + "/IDENTITY", other = tmp_.path() + "/OPTIONS-7";
  for (const std::string& p : {identity, other}) {
    auto g = Create(p);
    Put(g.get(), "a small file: 36 bytes of plaintext");
    ASSERT_TRUE(g->Sync(IOOptions(), nullptr).ok());
    ASSERT_TRUE(g->Close(IOOptions(), nullptr).ok());
  }
  WriteRaw(identity, ReadRaw(other).substr(0, 1024) + ReadRaw(identity).substr(1024));
  EXPECT_EQ(ekv_file_verify(env_, identity.c_str(), &size, msg, sizeof(msg)), EKV_INTEGRITY) << msg;
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  IOStatus open = env_->fs->NewSequentialFile(identity, FileOptions(), &seq, nullptr);
  EXPECT_TRUE(open.IsIOError()) << open.ToString();  // RocksDB asserts IOError for IDENTITY
  EXPECT_NE(open.ToString().find("[ekv:integrity]"), std::string::npos) << open.ToString();
}

}  // namespace
