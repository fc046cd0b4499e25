// File-level tests of the encrypted file system: sizes, frames, tails, tampering, C API.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "env_handle.h"
#include "format.h"
#include "test_support.h"

using namespace ekvtest;
using rocksdb::FileOptions;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

namespace {

constexpr uint32_t kF = 512;  // small frames keep boundary tests cheap

std::string Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Appends `data` in uneven chunks with Flushes in between, like WritableFileWriter does.
void WriteFile(rocksdb::FileSystem* fs, const std::string& path, const std::string& data,
               bool close = true) {
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs->NewWritableFile(path, FileOptions(), &f, nullptr).ok());
  size_t pos = 0, step = 1;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    ASSERT_TRUE(f->Append(Slice(data.data() + pos, n), IOOptions(), nullptr).ok());
    pos += n;
    ASSERT_EQ(f->GetFileSize(IOOptions(), nullptr), pos);
    if (step % 3 == 0) {
      ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
    }
    step = step * 7 % 1031 + 1;
  }
  if (close) {
    ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  } else {
    ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  }
}

std::string ReadSequential(rocksdb::FileSystem* fs, const std::string& path, IOStatus* st) {
  std::unique_ptr<rocksdb::FSSequentialFile> f;
  *st = fs->NewSequentialFile(path, FileOptions(), &f, nullptr);
  if (!st->ok()) return "";
  std::string out, scratch(777, '\0');
  for (;;) {
    Slice got;
    *st = f->Read(scratch.size(), IOOptions(), &got, &scratch[0], nullptr);
    if (!st->ok() || got.empty()) break;
    out.append(got.data(), got.size());
  }
  return out;
}

class FsTest : public ::testing::TestWithParam<bool> {  // param: in-memory base FS
 protected:
  void SetUp() override {
    env_ = CreateEnv(&keys_, kF, GetParam());
    fs_ = env_->fs.get();
    dir_ = GetParam() ? std::string("/ekvmem") : tmp_.path();
    ASSERT_TRUE(fs_->CreateDirIfMissing(dir_, IOOptions(), nullptr).ok());
  }
  void TearDown() override { ekv_env_destroy(env_); }

  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
  rocksdb::FileSystem* fs_ = nullptr;
  std::string dir_;
};

TEST_P(FsTest, LogicalSizesAroundFrameBoundaries) {
  ekv::ScopedFixedFormatForTests v2;  // the v2 (fixed stride) layout; v3: sst_v3_test.cc
  for (size_t n : {size_t{0}, size_t{1}, size_t{kF - 1}, size_t{kF}, size_t{kF + 1}, size_t{3 * kF},
                   size_t{3 * kF + 100}}) {
    SCOPED_TRACE(n);
    const std::string path = dir_ + "/f" + std::to_string(n) + ".sst";
    const std::string data = Pattern(n, static_cast<uint32_t>(n));
    WriteFile(fs_, path, data);
    uint64_t logical = 0, physical = 0;
    ASSERT_TRUE(fs_->GetFileSize(path, IOOptions(), &logical, nullptr).ok());
    EXPECT_EQ(logical, n);
    ASSERT_TRUE(env_->fs->target()->GetFileSize(path, IOOptions(), &physical, nullptr).ok());
    const uint64_t frames = n / kF + 1;  // closing adds a final frame (empty when n % F == 0)
    EXPECT_EQ(physical, 1024 + n + 40 * frames);

    IOStatus st;
    EXPECT_EQ(ReadSequential(fs_, path, &st), data);
    EXPECT_TRUE(st.ok()) << st.ToString();

    std::unique_ptr<rocksdb::FSRandomAccessFile> r;
    ASSERT_TRUE(fs_->NewRandomAccessFile(path, FileOptions(), &r, nullptr).ok());
    std::string scratch(n + 10, '\0');
    for (uint64_t off : {uint64_t{0}, uint64_t{kF - 3}, uint64_t{n / 2}, uint64_t{n}}) {
      Slice got;
      ASSERT_TRUE(r->Read(off, 2 * kF, IOOptions(), &got, &scratch[0], nullptr).ok());
      EXPECT_EQ(got.ToString(), data.substr(std::min<uint64_t>(off, n), 2 * kF));
    }
    uint64_t verified = 7;
    char msg[256];
    if (!GetParam()) {
      EXPECT_EQ(ekv_file_verify(env_, path.c_str(), &verified, msg, sizeof(msg)), EKV_OK) << msg;
      EXPECT_EQ(verified, n);
    }
  }
}

TEST_P(FsTest, FlushedBytesOfALogBecomeAShortFrameThatIsNeverRewritten) {
  // A log-like file closes its tail frame on Flush: the flushed bytes are one short frame, and
  // later appends start the next frame instead of re-sealing and rewriting it.
  const std::string path = dir_ + "/000001.log";
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs_->NewWritableFile(path, FileOptions(), &f, nullptr).ok());
  ASSERT_TRUE(f->Append("hello", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  IOStatus st;
  EXPECT_EQ(ReadSequential(fs_, path, &st), "hello");  // unclosed file, no final frame
  std::unique_ptr<rocksdb::FSRandomAccessFile> raw;
  ASSERT_TRUE(env_->fs->target()->NewRandomAccessFile(path, FileOptions(), &raw, nullptr).ok());
  char buf[5 + 40];
  Slice got;
  ASSERT_TRUE(raw->Read(1024, sizeof(buf), IOOptions(), &got, buf, nullptr).ok());
  const std::string frame0 = got.ToString();
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());  // nothing new: writes nothing
  ASSERT_TRUE(f->Append(" world", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Append("!", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(raw->Read(1024, sizeof(buf), IOOptions(), &got, buf, nullptr).ok());
  EXPECT_EQ(got.ToString(), frame0) << "a flushed frame must never be written again";
  EXPECT_EQ(ReadSequential(fs_, path, &st), "hello world!");
  uint64_t size = 0;
  ASSERT_TRUE(fs_->GetFileSize(path, IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, 12u);
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(env_->fs->target()->GetFileSize(path, IOOptions(), &size, nullptr).ok());
  // three data frames (one per Flush/Sync with new bytes), the sync marker and the final frame
  EXPECT_EQ(size, 1024u + 5 * 40 + 12);
}

TEST_P(FsTest, FlushedTailOfAnSstIsResealedInPlaceWithANewNonce) {
  ekv::ScopedFixedFormatForTests v2;  // the v2 (fixed stride) layout; v3: sst_v3_test.cc
  // Immutable files keep a fixed stride: a flushed partial frame is rewritten in place (with a
  // fresh nonce) when more data arrives, and the file ends in one final frame.
  const std::string path = dir_ + "/000002.sst";
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs_->NewWritableFile(path, FileOptions(), &f, nullptr).ok());
  ASSERT_TRUE(f->Append("hello", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  std::unique_ptr<rocksdb::FSRandomAccessFile> raw;
  ASSERT_TRUE(env_->fs->target()->NewRandomAccessFile(path, FileOptions(), &raw, nullptr).ok());
  char buf[24];
  Slice got;
  ASSERT_TRUE(raw->Read(1024, sizeof(buf), IOOptions(), &got, buf, nullptr).ok());
  const std::string before = got.ToString();
  ASSERT_TRUE(f->Append(" world", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Flush(IOOptions(), nullptr).ok());
  ASSERT_TRUE(raw->Read(1024, sizeof(buf), IOOptions(), &got, buf, nullptr).ok());
  EXPECT_NE(got.ToString().substr(12, 12), before.substr(12, 12))
      << "the rewritten tail frame must carry a fresh nonce";
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->fs->target()->GetFileSize(path, IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, 1024u + 40 + 11);
  IOStatus st;
  EXPECT_EQ(ReadSequential(fs_, path, &st), "hello world");
}

TEST_P(FsTest, ReopenAppendAndTruncate) {
  const std::string path = dir_ + "/MANIFEST-000001";
  const std::string a = Pattern(2 * kF + 10, 1), b = Pattern(kF + 7, 2);
  WriteFile(fs_, path, a);
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs_->ReopenWritableFile(path, FileOptions(), &f, nullptr).ok());
  EXPECT_EQ(f->GetFileSize(IOOptions(), nullptr), a.size());
  ASSERT_TRUE(f->Append(b, IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  IOStatus st;
  EXPECT_EQ(ReadSequential(fs_, path, &st), a + b);

  // Shrink into an earlier full frame, then into the tail, via the FileSystem call.
  ASSERT_TRUE(fs_->Truncate(path, kF + 5, IOOptions(), nullptr).ok());
  EXPECT_EQ(ReadSequential(fs_, path, &st), (a + b).substr(0, kF + 5));
  ASSERT_TRUE(fs_->Truncate(path, kF, IOOptions(), nullptr).ok());
  EXPECT_EQ(ReadSequential(fs_, path, &st), (a + b).substr(0, kF));
  uint64_t size = 0;
  ASSERT_TRUE(fs_->GetFileSize(path, IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, kF);
  EXPECT_TRUE(fs_->Truncate(dir_ + "/missing", 0, IOOptions(), nullptr).IsNotFound() ||
              fs_->Truncate(dir_ + "/missing", 0, IOOptions(), nullptr).IsPathNotFound());
}

TEST_P(FsTest, KeyUnavailableIsReportedWithItsReason) {
  const std::string path = dir_ + "/000007.sst";
  WriteFile(fs_, path, "secret");
  keys_.unavailable = true;
  std::unique_ptr<rocksdb::FSRandomAccessFile> r;
  IOStatus s = fs_->NewRandomAccessFile(path, FileOptions(), &r, nullptr);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(s.ToString().find("[ekv:key-unavailable] " + path + ": test store is locked"),
            std::string::npos)
      << s.ToString();
  std::unique_ptr<rocksdb::FSWritableFile> w;
  s = fs_->NewWritableFile(dir_ + "/new.sst", FileOptions(), &w, nullptr);
  EXPECT_NE(s.ToString().find("[ekv:key-unavailable]"), std::string::npos);
  EXPECT_TRUE(fs_->FileExists(dir_ + "/new.sst", IOOptions(), nullptr).IsNotFound());
  keys_.unavailable = false;
}

TEST_P(FsTest, ConcurrentRandomReadsSeeTheRightBytes) {
  // RandomAccessFile::Read is called by many threads at once; the per-file frame cache and the
  // cipher context pool must not mix up frames.
  const std::string path = dir_ + "/000042.sst";
  const std::string data = Pattern(64 * kF + 123, 42);
  WriteFile(fs_, path, data);
  std::unique_ptr<rocksdb::FSRandomAccessFile> r;
  ASSERT_TRUE(fs_->NewRandomAccessFile(path, FileOptions(), &r, nullptr).ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::string scratch(3 * kF, '\0');
      for (int i = 0; i < 400; ++i) {
        const uint64_t off = rng() % data.size();
        const size_t n = 1 + rng() % (3 * kF);
        Slice got;
        if (!r->Read(off, n, IOOptions(), &got, &scratch[0], nullptr).ok() ||
            got.ToString() != data.substr(off, n)) {
          mismatches++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(DiskAndMemory, FsTest, ::testing::Values(false, true));

// Tamper and crash cases on the real disk (raw byte access).
class DiskFsTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = CreateEnv(&keys_, kF); }
  void TearDown() override { ekv_env_destroy(env_); }
  int32_t Verify(const std::string& path, uint64_t* size, std::string* msg) {
    char buf[512];
    int32_t rc = ekv_file_verify(env_, path.c_str(), size, buf, sizeof(buf));
    *msg = buf;
    return rc;
  }
  TestKeys keys_;
  TempDir tmp_;
  ekv_env* env_ = nullptr;
};

TEST_F(DiskFsTest, FlippedBitsAreIntegrityErrors) {
  ekv::ScopedFixedFormatForTests v2;  // the v2 (fixed stride) layout; v3: sst_v3_test.cc
  const std::string sst = tmp_.path() + "/000010.sst";
  WriteFile(env_->fs.get(), sst, Pattern(3 * kF, 9));
  uint64_t size = 0;
  std::string msg;
  for (uint64_t off :
       {uint64_t{1024 + 5}, uint64_t{1024 + kF + 40 + 100}, uint64_t{1024 + 3 * (kF + 40) + 3}}) {
    FlipByte(sst, off);
    EXPECT_EQ(Verify(sst, &size, &msg), EKV_INTEGRITY) << msg;
    EXPECT_NE(msg.find("[ekv:integrity] " + sst), std::string::npos) << msg;
    FlipByte(sst, off);
    EXPECT_EQ(Verify(sst, &size, &msg), EKV_OK) << msg;
  }
  FlipByte(sst, 1024 + kF + 40 + 100);
  EXPECT_EQ(Verify(sst, &size, &msg), EKV_INTEGRITY);
  EXPECT_NE(msg.find("authentication failed for frame 1 (file offset " +
                     std::to_string(1024 + kF + 40) + ")"),
            std::string::npos)
      << msg;
  // Header: checksum catches a flipped byte; a re-checksummed forgery fails the unwrap.
  const std::string other = tmp_.path() + "/000011.sst";
  WriteFile(env_->fs.get(), other, "x");
  FlipByte(other, 20);
  EXPECT_EQ(Verify(other, &size, &msg), EKV_INTEGRITY);
  EXPECT_NE(msg.find("header"), std::string::npos) << msg;
}

TEST_F(DiskFsTest, SwappedAndSplicedFramesAreDetected) {
  const std::string a = tmp_.path() + "/000020.sst", b = tmp_.path() + "/000021.sst";
  WriteFile(env_->fs.get(), a, Pattern(3 * kF, 1));
  WriteFile(env_->fs.get(), b, Pattern(3 * kF, 2));
  std::string ra = ReadRaw(a), rb = ReadRaw(b);
  const size_t stride = kF + 40;
  std::string swapped = ra;
  swapped.replace(1024, stride, ra.substr(1024 + stride, stride));
  swapped.replace(1024 + stride, stride, ra.substr(1024, stride));
  WriteRaw(a, swapped);
  uint64_t size;
  std::string msg;
  EXPECT_EQ(Verify(a, &size, &msg), EKV_INTEGRITY) << msg;
  std::string spliced = ra;
  spliced.replace(1024 + stride, stride, rb.substr(1024 + stride, stride));
  WriteRaw(a, spliced);
  EXPECT_EQ(Verify(a, &size, &msg), EKV_INTEGRITY) << msg;
}

TEST_F(DiskFsTest, TruncationOfClosedSstIsIntegrityButWalTailIsTorn) {
  ekv::ScopedFixedFormatForTests v2;  // the v2 (fixed stride) layout; v3: sst_v3_test.cc
  const std::string sst = tmp_.path() + "/000030.sst", wal = tmp_.path() + "/000031.log";
  const std::string data = Pattern(2 * kF + 50, 3);
  WriteFile(env_->fs.get(), sst, data);
  {
    // One append and one flush: frames 0 and 1 are full, frame 2 holds the last 50 bytes.
    std::unique_ptr<rocksdb::FSWritableFile> w;
    ASSERT_TRUE(env_->fs->NewWritableFile(wal, FileOptions(), &w, nullptr).ok());
    ASSERT_TRUE(w->Append(data, IOOptions(), nullptr).ok());
    ASSERT_TRUE(w->Flush(IOOptions(), nullptr).ok());
  }
  uint64_t size = 0;
  std::string msg;
  // Drop the final frame of the SST: a clean cut at a frame boundary.
  std::string raw = ReadRaw(sst);
  WriteRaw(sst, raw.substr(0, 1024 + 2 * (kF + 40)));
  EXPECT_EQ(Verify(sst, &size, &msg), EKV_INTEGRITY) << msg;
  EXPECT_NE(msg.find("missing final frame"), std::string::npos) << msg;

  // Unclosed WAL: a torn last frame reads as end of file after the last good frame.
  raw = ReadRaw(wal);
  WriteRaw(wal, raw.substr(0, raw.size() - 5));
  EXPECT_EQ(Verify(wal, &size, &msg), EKV_TORN_TAIL) << msg;
  EXPECT_EQ(size, 2 * kF);
  IOStatus st;
  EXPECT_EQ(ReadSequential(env_->fs.get(), wal, &st), data.substr(0, 2 * kF));
  EXPECT_TRUE(st.ok());
  EXPECT_GE(ekv_env_torn_tail_count(env_), 1u);
  // ... but a bad frame before the last one is tampering.
  FlipByte(wal, 1024 + 10);
  EXPECT_EQ(Verify(wal, &size, &msg), EKV_INTEGRITY) << msg;

  // Reopening a torn WAL continues after the last good frame.
  FlipByte(wal, 1024 + 10);
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(env_->fs->ReopenWritableFile(wal, FileOptions(), &f, nullptr).ok());
  ASSERT_TRUE(f->Append("tail", IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Verify(wal, &size, &msg), EKV_OK) << msg;
  EXPECT_EQ(ReadSequential(env_->fs.get(), wal, &st), data.substr(0, 2 * kF) + "tail");
}

TEST_F(DiskFsTest, CApiReadWriteAndStats) {
  const std::string path = tmp_.path() + "/blob.bin";
  const std::string data = Pattern(5000, 4);
  char msg[256];
  ASSERT_EQ(ekv_file_write(env_, path.c_str(), reinterpret_cast<const uint8_t*>(data.data()),
                           data.size(), msg, sizeof(msg)),
            EKV_OK)
      << msg;
  std::string back(6000, '\0');
  uint64_t got = 0;
  ASSERT_EQ(ekv_file_read(env_, path.c_str(), 100, reinterpret_cast<uint8_t*>(&back[0]),
                          back.size(), &got, msg, sizeof(msg)),
            EKV_OK);
  EXPECT_EQ(back.substr(0, got), data.substr(100));
  EXPECT_EQ(ekv_file_read(env_, (path + "x").c_str(), 0, reinterpret_cast<uint8_t*>(&back[0]), 1,
                          &got, msg, sizeof(msg)),
            EKV_NOT_FOUND);
  ekv_stats stats;
  ekv_env_get_stats(env_, &stats);
  EXPECT_EQ(stats.live_deks, 0u);  // every file object is gone
  EXPECT_GE(stats.files_created, 1u);
  EXPECT_GE(stats.frames_sealed, 10u);
  EXPECT_GE(stats.frames_opened, 10u);

  char lib[512];
  ASSERT_EQ(ekv_rocksdb_library_path(lib, sizeof(lib)), EKV_OK);
  EXPECT_NE(std::string(lib).find("librocksdb.so"), std::string::npos) << lib;
  EXPECT_STREQ(ekv_rocksdb_header_version(), "7.8.3");
}

}  // namespace
