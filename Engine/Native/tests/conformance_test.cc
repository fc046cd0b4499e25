// The file-operation C API: the same script against the plain and the encrypted file system must
// produce the same transcript (statuses, sizes, bytes), except where the encrypted one refuses
// by design (ReuseWritableFile).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>

#include "ekvfs.h"
#include "test_support.h"

using namespace ekvtest;

namespace {

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class Script {
 public:
  Script(ekv_fs* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  std::string P(const std::string& name) const { return dir_ + "/" + name; }
  void Note(const std::string& what, int32_t rc) { out_ << what << "=" << rc << "\n"; }
  template <typename T>
  void Note(const std::string& what, int32_t rc, const T& value) {
    out_ << what << "=" << rc << ":" << value << "\n";
  }
  std::string transcript() const { return out_.str(); }
  uint64_t reopen_size = 0;

  std::string ReadAll(const std::string& name, size_t chunk) {
    ekv_sfile* f = nullptr;
    int32_t rc = ekv_fs_new_sequential(fs_, P(name).c_str(), &f, msg_, sizeof(msg_));
    Note("open-seq " + name, rc);
    std::string all;
    if (rc != EKV_OK) return all;
    std::string buf(chunk, '\0');
    for (;;) {
      uint64_t got = 0;
      rc = ekv_sfile_read(f, reinterpret_cast<uint8_t*>(&buf[0]), chunk, &got, msg_, sizeof(msg_));
      if (rc != EKV_OK || got == 0) break;
      all.append(buf, 0, got);
    }
    Note("read-seq-end " + name, rc, all.size());
    ekv_sfile_destroy(f);
    return all;
  }

  void Run() {
    const std::string a = Bytes(5000, 1), b = Bytes(777, 2), c = Bytes(4096, 3);
    Note("mkdir", ekv_fs_create_dir(fs_, P("sub").c_str(), 0, msg_, sizeof(msg_)));
    Note("mkdir-again", ekv_fs_create_dir(fs_, P("sub").c_str(), 0, msg_, sizeof(msg_)));
    Note("mkdir-if-missing", ekv_fs_create_dir(fs_, P("sub").c_str(), 1, msg_, sizeof(msg_)));
    ekv_wfile* w = nullptr;
    Note("new-writable", ekv_fs_new_writable(fs_, P("000001.log").c_str(), &w, msg_, sizeof(msg_)));
    Note("append", ekv_wfile_append(w, U(a), a.size(), msg_, sizeof(msg_)));
    Note("size-after-append", 0, ekv_wfile_size(w));
    Note("flush", ekv_wfile_flush(w, msg_, sizeof(msg_)));
    Note("range-sync", ekv_wfile_range_sync(w, 0, 4096, msg_, sizeof(msg_)));
    Note("sync", ekv_wfile_sync(w, msg_, sizeof(msg_)));
    Note("append", ekv_wfile_append(w, U(b), b.size(), msg_, sizeof(msg_)));
    Note("fsync", ekv_wfile_fsync(w, msg_, sizeof(msg_)));
    uint64_t size = 0;
    Note("fs-size-open", ekv_fs_file_size(fs_, P("000001.log").c_str(), &size, msg_, sizeof(msg_)),
         size);
    Note("close", ekv_wfile_close(w, msg_, sizeof(msg_)));
    ekv_wfile_destroy(w);
    Note("fs-size", ekv_fs_file_size(fs_, P("000001.log").c_str(), &size, msg_, sizeof(msg_)),
         size);
    Note("content-ok", 0, ReadAll("000001.log", 333) == a + b);

    // Reopen for append, then truncate through the writable file.
    Note("reopen", ekv_fs_reopen_writable(fs_, P("000001.log").c_str(), &w, msg_, sizeof(msg_)));
    // Not in the transcript: POSIX counts only bytes written through the reopened handle (0),
    // the in-memory and the encrypted file systems report the file's size.
    reopen_size = ekv_wfile_size(w);
    Note("append", ekv_wfile_append(w, U(c), c.size(), msg_, sizeof(msg_)));
    Note("truncate", ekv_wfile_truncate(w, 6000, msg_, sizeof(msg_)));
    Note("close", ekv_wfile_close(w, msg_, sizeof(msg_)));
    ekv_wfile_destroy(w);
    Note("content-ok", 0, ReadAll("000001.log", 4096) == (a + b + c).substr(0, 6000));

    // Sequential skip and random reads (single, past the end, multi).
    ekv_sfile* s = nullptr;
    Note("open-seq", ekv_fs_new_sequential(fs_, P("000001.log").c_str(), &s, msg_, sizeof(msg_)));
    Note("skip", ekv_sfile_skip(s, 4000, msg_, sizeof(msg_)));
    std::string buf(3000, '\0');
    uint64_t got = 0;
    int32_t rc = ekv_sfile_read(s, U(buf), 100, &got, msg_, sizeof(msg_));
    Note("read-after-skip", rc, buf.substr(0, got) == (a + b).substr(4000, 100));
    Note("positioned-read", ekv_sfile_positioned_read(s, 0, U(buf), 10, &got, msg_, sizeof(msg_)));
    ekv_sfile_destroy(s);
    ekv_rfile* r = nullptr;
    Note("open-random", ekv_fs_new_random(fs_, P("000001.log").c_str(), &r, msg_, sizeof(msg_)));
    rc = ekv_rfile_read(r, 4090, U(buf), 3000, &got, msg_, sizeof(msg_));
    Note("random-read", rc, got);
    Note("random-read-ok", 0, buf.substr(0, got) == (a + b + c).substr(4090, 1910));
    rc = ekv_rfile_read(r, 7000, U(buf), 10, &got, msg_, sizeof(msg_));
    Note("random-read-past-end", rc, got);
    Note("prefetch", ekv_rfile_prefetch(r, 0, 4096, msg_, sizeof(msg_)));
    std::string m1(50, '\0'), m2(600, '\0');
    ekv_read_request reqs[2] = {{10, 50, U(m1), 0, -1, 0}, {5900, 600, U(m2), 0, -1, 0}};
    rc = ekv_rfile_multi_read(r, reqs, 2, msg_, sizeof(msg_));
    Note("multi-read", rc, std::to_string(reqs[0].read) + "," + std::to_string(reqs[1].read));
    Note("multi-read-ok", 0,
         m1 == a.substr(10, 50) && m2.substr(0, 100) == (a + b + c).substr(5900, 100));
    ekv_rfile_destroy(r);

    // Names, sizes, rename, link, delete, locks.
    Note("exists", ekv_fs_file_exists(fs_, P("000001.log").c_str(), msg_, sizeof(msg_)));
    Note("exists-missing", ekv_fs_file_exists(fs_, P("nope").c_str(), msg_, sizeof(msg_)));
    Note("rename",
         ekv_fs_rename(fs_, P("000001.log").c_str(), P("CURRENT").c_str(), msg_, sizeof(msg_)));
    Note("link",
         ekv_fs_link(fs_, P("CURRENT").c_str(), P("sub/linked").c_str(), msg_, sizeof(msg_)));
    Note("children", 0, Children(""));
    Note("children-sub", 0, Children("sub"));
    Note("delete", ekv_fs_delete(fs_, P("CURRENT").c_str(), msg_, sizeof(msg_)));
    Note("delete-missing", ekv_fs_delete(fs_, P("CURRENT").c_str(), msg_, sizeof(msg_)));
    Note("linked-content-ok", 0, ReadAll("sub/linked", 1000) == (a + b + c).substr(0, 6000));
    ekv_lock* lock = nullptr;
    Note("lock", ekv_fs_lock(fs_, P("LOCK").c_str(), &lock, msg_, sizeof(msg_)));
    ekv_lock* again = nullptr;
    Note("lock-again", ekv_fs_lock(fs_, P("LOCK").c_str(), &again, msg_, sizeof(msg_)));
    Note("unlock", ekv_fs_unlock(lock, msg_, sizeof(msg_)));
    Note("empty-file-size", ekv_fs_file_size(fs_, P("LOCK").c_str(), &size, msg_, sizeof(msg_)),
         size);
    Note("open-missing", ekv_fs_new_random(fs_, P("missing").c_str(), &r, msg_, sizeof(msg_)));
  }

 private:
  static uint8_t* U(std::string& s) { return reinterpret_cast<uint8_t*>(&s[0]); }
  static const uint8_t* U(const std::string& s) {
    return reinterpret_cast<const uint8_t*>(s.data());
  }
  std::string Children(const std::string& sub) {
    const std::string dir = sub.empty() ? dir_ : P(sub);
    uint64_t needed = 0;
    ekv_fs_get_children(fs_, dir.c_str(), 1, nullptr, 0, &needed, msg_, sizeof(msg_));
    std::string buf(needed, '\0');
    int32_t rc =
        ekv_fs_get_children(fs_, dir.c_str(), 1, U(buf), buf.size(), &needed, msg_, sizeof(msg_));
    std::vector<std::string> entries;
    for (size_t at = 0; rc == EKV_OK && at < buf.size();) {
      uint64_t size = 0;
      uint32_t len = 0;
      std::memcpy(&size, &buf[at], 8);
      std::memcpy(&len, &buf[at + 8], 4);
      const std::string name = buf.substr(at + 12, len);
      at += 12 + len;
      if (name == "." || name == "..") continue;
      entries.push_back(name + (name == "sub" ? "" : "/" + std::to_string(size)));
    }
    std::sort(entries.begin(), entries.end());
    std::string out = std::to_string(rc);
    for (const std::string& e : entries) out += " " + e;
    return out;
  }

  ekv_fs* fs_;
  std::string dir_;
  std::ostringstream out_;
  char msg_[512] = {0};
};

class ConformanceTest : public ::testing::TestWithParam<bool> {};  // param: in-memory base

TEST_P(ConformanceTest, PlainAndEncryptedAgree) {
  TestKeys keys;
  TempDir tmp;
  ekv_env* env = CreateEnv(&keys, 512, GetParam());
  std::string transcripts[2];
  for (int encrypted = 0; encrypted <= 1; ++encrypted) {
    ekv_fs* fs = nullptr;
    char msg[256];
    ASSERT_EQ(ekv_fs_open(env, encrypted, &fs, msg, sizeof(msg)), EKV_OK) << msg;
    const std::string dir =
        (GetParam() ? std::string("/mem") : tmp.path()) + "/fs" + std::to_string(encrypted);
    ASSERT_EQ(ekv_fs_create_dir(fs, dir.c_str(), 1, msg, sizeof(msg)), EKV_OK) << msg;
    Script script(fs, dir);
    script.Run();
    transcripts[encrypted] = script.transcript();
    if (encrypted || GetParam()) {
      EXPECT_EQ(script.reopen_size, 5777u);
    }
    // WAL recycling: plain renames and reuses, encrypted refuses by design.
    ekv_wfile* w = nullptr;
    ekv_wfile* r = nullptr;
    ASSERT_EQ(ekv_fs_new_writable(fs, (dir + "/old.log").c_str(), &w, msg, sizeof(msg)), EKV_OK);
    ekv_wfile_close(w, msg, sizeof(msg));
    ekv_wfile_destroy(w);
    int32_t rc = ekv_fs_reuse_writable(fs, (dir + "/new.log").c_str(), (dir + "/old.log").c_str(),
                                       &r, msg, sizeof(msg));
    EXPECT_EQ(rc, encrypted ? EKV_NOT_SUPPORTED : EKV_OK) << msg;
    ekv_wfile_destroy(r);
    ekv_fs_destroy(fs);
  }
  EXPECT_EQ(transcripts[0], transcripts[1]);
  EXPECT_NE(transcripts[1].find("content-ok=0:1"), std::string::npos) << transcripts[1];
  EXPECT_EQ(transcripts[1].find(":0\nrandom-read-ok"), std::string::npos);
  ekv_env_destroy(env);
}

INSTANTIATE_TEST_SUITE_P(DiskAndMemory, ConformanceTest, ::testing::Values(false, true));

}  // namespace
