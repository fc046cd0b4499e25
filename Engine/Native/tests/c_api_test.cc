// The exported C surface: symbol visibility, the frame-cipher bench entry points (test hooks
// library only), file kinds, typed error records and the store lock.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "ekvfs.h"
#include "ekvfs_testhooks.h"
#include "test_support.h"

namespace {

TEST(SharedLibrary, ExportsOnlyTheCApi) {
  void* h = dlopen(EKVFS_SHARED_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto abi = reinterpret_cast<uint32_t (*)()>(dlsym(h, "ekv_abi_version"));
  ASSERT_NE(abi, nullptr);
  EXPECT_EQ(abi(), EKV_ABI_VERSION);
  EXPECT_EQ(EKV_ABI_VERSION, 2u);
  for (const char* fn : {"ekv_env_create",
                         "ekv_env_destroy",
                         "ekv_env_rocksdb_env",
                         "ekv_options_set_cf_path",
                         "ekv_env_get_stats",
                         "ekv_file_verify",
                         "ekv_file_check",
                         "ekv_file_read",
                         "ekv_file_write",
                         "ekv_rocksdb_library_path",
                         "ekv_rocksdb_header_version",
                         "ekv_env_torn_tail_count",
                         "ekv_file_rewrap",
                         "ekv_file_header_info",
                         "ekv_fs_open",
                         "ekv_fs_destroy",
                         "ekv_fs_new_writable",
                         "ekv_fs_reopen_writable",
                         "ekv_fs_reuse_writable",
                         "ekv_wfile_append",
                         "ekv_wfile_flush",
                         "ekv_wfile_sync",
                         "ekv_wfile_fsync",
                         "ekv_wfile_range_sync",
                         "ekv_wfile_truncate",
                         "ekv_wfile_close",
                         "ekv_wfile_size",
                         "ekv_wfile_destroy",
                         "ekv_fs_new_sequential",
                         "ekv_sfile_read",
                         "ekv_sfile_skip",
                         "ekv_sfile_positioned_read",
                         "ekv_sfile_destroy",
                         "ekv_fs_new_random",
                         "ekv_rfile_read",
                         "ekv_rfile_multi_read",
                         "ekv_rfile_prefetch",
                         "ekv_rfile_destroy",
                         "ekv_fs_file_size",
                         "ekv_fs_file_exists",
                         "ekv_fs_get_children",
                         "ekv_fs_rename",
                         "ekv_fs_link",
                         "ekv_fs_delete",
                         "ekv_fs_truncate",
                         "ekv_fs_create_dir",
                         "ekv_fs_delete_dir",
                         "ekv_fs_lock",
                         "ekv_fs_unlock",
                         "ekv_mem_fs_create",
                         "ekv_file_kind_of",
                         "ekv_last_error_take",
                         "ekv_last_error_take_any_thread",
                         "ekv_store_lock_acquire",
                         "ekv_store_lock_release"}) {
    EXPECT_NE(dlsym(h, fn), nullptr) << fn;
  }
  // Test and bench hooks (raw keys) never leave the production library.
  EXPECT_EQ(dlsym(h, "ekv_bench_seal"), nullptr);
  EXPECT_EQ(dlsym(h, "ekv_bench_open"), nullptr);
  EXPECT_EQ(
      dlsym(h, "_ZN3ekv11CopyMessageERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEPcj"),
      nullptr);
  dlclose(h);
}

TEST(SharedLibrary, TestHooksLibraryExportsOnlyTheHooks) {
  void* h = dlopen(EKVFS_TESTHOOKS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  EXPECT_NE(dlsym(h, "ekv_bench_seal"), nullptr);
  EXPECT_NE(dlsym(h, "ekv_bench_open"), nullptr);
  EXPECT_EQ(dlsym(h, "ekv_env_create"), nullptr);
  dlclose(h);
}

TEST(FileKind, IsThePluginsOwnRule) {
  EXPECT_EQ(ekv_file_kind_of("/s/ns/1/000012.sst"), EKV_FILE_IMMUTABLE);
  EXPECT_EQ(ekv_file_kind_of("/s/000013.blob"), EKV_FILE_IMMUTABLE);
  EXPECT_EQ(ekv_file_kind_of("/s/LOCK"), EKV_FILE_PASSTHROUGH);
  EXPECT_EQ(ekv_file_kind_of("LOCK"), EKV_FILE_PASSTHROUGH);
  EXPECT_EQ(ekv_file_kind_of("/s/000011.log"), EKV_FILE_LOG_LIKE);
  EXPECT_EQ(ekv_file_kind_of("/s/MANIFEST-000005"), EKV_FILE_LOG_LIKE);
  EXPECT_EQ(ekv_file_kind_of("/s/LOCK.old"), EKV_FILE_LOG_LIKE);
  EXPECT_EQ(ekv_file_kind_of(nullptr), EKV_FILE_LOG_LIKE);
}

TEST(LastError, AFailedVerifyLeavesATypedRecordOnItsThread) {
  ekv_error_info info;
  while (ekv_last_error_take(&info) == 1) {
  }
  ekvtest::TempDir dir;
  const std::string path = dir.path() + "/000011.sst";
  ekvtest::TestKeys keys;
  ekv_env* env = ekvtest::CreateEnv(&keys);
  char msg[256];
  const std::string text(10000, 'x');
  ASSERT_EQ(ekv_file_write(env, path.c_str(), reinterpret_cast<const uint8_t*>(text.data()),
                           text.size(), msg, sizeof(msg)),
            EKV_OK)
      << msg;
  ekvtest::FlipByte(path, 1024 + 100);  // inside the first frame, which starts after the header
  uint64_t logical = 0;
  EXPECT_EQ(ekv_file_verify(env, path.c_str(), &logical, msg, sizeof(msg)), EKV_INTEGRITY);
  ekv_env_destroy(env);
  ASSERT_EQ(ekv_last_error_take(&info), 1);
  EXPECT_EQ(info.code, EKV_INTEGRITY);
  EXPECT_EQ(std::string(info.path), path);
  EXPECT_EQ(info.has_offset, 1u);
  EXPECT_EQ(info.offset, 1024u);  // the first frame starts right after the header region
  EXPECT_EQ(std::string(info.message).rfind(path + ": ", 0), 0u) << info.message;
  EXPECT_EQ(ekv_last_error_take(&info), 0);             // taken once
  EXPECT_EQ(ekv_last_error_take_any_thread(&info), 0);  // ... and not again as another thread's
}

TEST(LastError, AFailureOnAnotherThreadCanBeTakenFromAnyThread) {
  ekv_error_info info;
  while (ekv_last_error_take_any_thread(&info) == 1) {
  }
  ekvtest::TempDir dir;
  const std::string path = dir.path() + "/000012.sst";
  ekvtest::TestKeys keys;
  ekv_env* env = ekvtest::CreateEnv(&keys);
  char msg[256];
  const std::string text(10000, 'x');
  ASSERT_EQ(ekv_file_write(env, path.c_str(), reinterpret_cast<const uint8_t*>(text.data()),
                           text.size(), msg, sizeof(msg)),
            EKV_OK)
      << msg;
  ekvtest::FlipByte(path, 1024 + 100);
  std::thread other([&] {
    uint64_t logical = 0;
    char m[256];
    EXPECT_EQ(ekv_file_verify(env, path.c_str(), &logical, m, sizeof(m)), EKV_INTEGRITY);
  });
  other.join();
  EXPECT_EQ(ekv_last_error_take(&info), 0);  // not this thread's
  ASSERT_EQ(ekv_last_error_take_any_thread(&info), 1);
  EXPECT_EQ(info.code, EKV_INTEGRITY);
  EXPECT_EQ(std::string(info.path), path);
  EXPECT_EQ(info.offset, 1024u);
  ekv_env_destroy(env);
}

TEST(Verify, AFileOpenForWritingIsCheckedUpToItsStableFrames) {
  ekvtest::TempDir dir;
  const std::string path = dir.path() + "/000007.log";
  ekvtest::TestKeys keys;
  ekv_env* env = ekvtest::CreateEnv(&keys, 4096);
  char msg[256];
  ekv_fs* fs = nullptr;
  ASSERT_EQ(ekv_fs_open(env, 1, &fs, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_wfile* w = nullptr;
  ASSERT_EQ(ekv_fs_new_writable(fs, path.c_str(), &w, msg, sizeof(msg)), EKV_OK) << msg;
  const std::string data(10000, 'd');  // two full frames and a 1808-byte tail frame
  ASSERT_EQ(ekv_wfile_append(w, reinterpret_cast<const uint8_t*>(data.data()), data.size(), msg,
                             sizeof(msg)),
            EKV_OK)
      << msg;
  ASSERT_EQ(ekv_wfile_flush(w, msg, sizeof(msg)), EKV_OK) << msg;  // closes the log's tail frame
  const uint64_t stable = ekvtest::RawSize(path);
  // Bytes after the writer's stable frames (what a reader sees of a frame being written) are not
  // read: the open file verifies as its stable frames, without a torn tail.
  ekvtest::WriteRaw(path, ekvtest::ReadRaw(path) + std::string(20, '\x5a'));
  uint64_t logical = 0;
  EXPECT_EQ(ekv_file_verify(env, path.c_str(), &logical, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(logical, data.size());
  // A stable frame that fails is tampering, reported by the first read.
  ekvtest::FlipByte(path, 1024 + 60);
  EXPECT_EQ(ekv_file_verify(env, path.c_str(), &logical, msg, sizeof(msg)), EKV_INTEGRITY);
  ekvtest::FlipByte(path, 1024 + 60);
  ekvtest::WriteRaw(path, ekvtest::ReadRaw(path).substr(0, stable));
  ASSERT_EQ(ekv_wfile_close(w, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_wfile_destroy(w);
  // Closed: every frame, the final one included.
  EXPECT_EQ(ekv_file_verify(env, path.c_str(), &logical, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(logical, data.size());
  ekv_fs_destroy(fs);
  ekv_env_destroy(env);
}

// Issue 12: a cleanly closed log-like file ends in an empty frame with the final flag, so a cut
// at the last frame boundary is visible to whoever knows the file was closed.
TEST(FinalFrame, ALogLikeFileClosedCleanlyEndsInAFinalFrame) {
  ekvtest::TempDir dir;
  const std::string path = dir.path() + "/MANIFEST-000009";
  ekvtest::TestKeys keys;
  ekv_env* env = ekvtest::CreateEnv(&keys, 4096);
  char msg[256];
  ekv_fs* fs = nullptr;
  ASSERT_EQ(ekv_fs_open(env, 1, &fs, msg, sizeof(msg)), EKV_OK) << msg;
  auto write = [&](ekv_wfile* w, const std::string& data, bool sync) {
    ASSERT_EQ(ekv_wfile_append(w, reinterpret_cast<const uint8_t*>(data.data()), data.size(), msg,
                               sizeof(msg)),
              EKV_OK)
        << msg;
    ASSERT_EQ(sync ? ekv_wfile_sync(w, msg, sizeof(msg)) : ekv_wfile_flush(w, msg, sizeof(msg)),
              EKV_OK)
        << msg;
  };
  ekv_wfile* w = nullptr;
  ASSERT_EQ(ekv_fs_new_writable(fs, path.c_str(), &w, msg, sizeof(msg)), EKV_OK) << msg;
  write(w, std::string(5000, 'a'), true);
  write(w, std::string(300, 'b'), false);
  uint64_t logical = 0;
  uint32_t flags = 7;
  // Open for writing: not closed, and not refused for it while open (only stable frames count).
  EXPECT_EQ(ekv_file_check(env, path.c_str(), 0, &logical, &flags, msg, sizeof(msg)), EKV_OK)
      << msg;
  EXPECT_EQ(flags, 0u);
  const uint64_t before_close = ekvtest::RawSize(path);
  ASSERT_EQ(ekv_wfile_close(w, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_wfile_destroy(w);
  EXPECT_EQ(ekvtest::RawSize(path), before_close + 40);  // one empty final frame
  for (uint32_t options : {0u, EKV_CHECK_LAST_FRAME_ONLY, EKV_CHECK_REQUIRE_CLOSED}) {
    flags = 0;
    EXPECT_EQ(ekv_file_check(env, path.c_str(), options, &logical, &flags, msg, sizeof(msg)),
              EKV_OK)
        << msg;
    EXPECT_EQ(flags, EKV_FILE_CLOSED);
    EXPECT_EQ(logical, 5300u);
  }

  // Reopened, appended, closed again: the old final frame is gone (a final frame may only be
  // last), every byte reads back, and the file ends in one new final frame.
  ASSERT_EQ(ekv_fs_reopen_writable(fs, path.c_str(), &w, msg, sizeof(msg)), EKV_OK) << msg;
  write(w, std::string(100, 'c'), false);
  ASSERT_EQ(ekv_wfile_close(w, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_wfile_destroy(w);
  EXPECT_EQ(ekvtest::RawSize(path), before_close + 100 + 40 + 40);
  EXPECT_EQ(ekv_file_check(env, path.c_str(), EKV_CHECK_REQUIRE_CLOSED, &logical, &flags, msg,
                           sizeof(msg)),
            EKV_OK)
      << msg;
  EXPECT_EQ(logical, 5400u);
  std::string back(5400, '\0');
  uint64_t got = 0;
  ASSERT_EQ(ekv_file_read(env, path.c_str(), 0, reinterpret_cast<uint8_t*>(&back[0]), back.size(),
                          &got, msg, sizeof(msg)),
            EKV_OK)
      << msg;
  EXPECT_EQ(back, std::string(5000, 'a') + std::string(300, 'b') + std::string(100, 'c'));

  // The final frame cut off: the rest authenticates and reads as a file that was not closed
  // (what a crash leaves); only a caller that knows it was closed can refuse it.
  const std::string full = ekvtest::ReadRaw(path);
  ekvtest::WriteRaw(path, full.substr(0, full.size() - 40));
  EXPECT_EQ(ekv_file_check(env, path.c_str(), 0, &logical, &flags, msg, sizeof(msg)), EKV_OK)
      << msg;
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(logical, 5400u);
  EXPECT_EQ(ekv_file_check(env, path.c_str(), EKV_CHECK_REQUIRE_CLOSED, &logical, &flags, msg,
                           sizeof(msg)),
            EKV_INTEGRITY);
  EXPECT_NE(std::string(msg).find("final frame"), std::string::npos) << msg;
  // Cut further, at the previous frame boundary: the same.
  ekvtest::WriteRaw(path, full.substr(0, full.size() - 40 - 140));
  EXPECT_EQ(ekv_file_check(env, path.c_str(), EKV_CHECK_REQUIRE_CLOSED, &logical, &flags, msg,
                           sizeof(msg)),
            EKV_INTEGRITY);
  // A final frame moved to another position does not authenticate there (its index is bound).
  ekvtest::WriteRaw(path, full.substr(0, full.size() - 40 - 140) + full.substr(full.size() - 40));
  EXPECT_NE(ekv_file_check(env, path.c_str(), EKV_CHECK_REQUIRE_CLOSED, &logical, &flags, msg,
                           sizeof(msg)),
            EKV_OK);
  EXPECT_EQ(ekv_file_check(env, path.c_str(), 8u, &logical, &flags, msg, sizeof(msg)),
            EKV_INVALID_ARGUMENT);

  // Append, Sync, Close (as CURRENT is written): data, sync marker, final frame. The marker is no
  // longer the last frame and no read touches it, so full verification authenticates it itself.
  const std::string current = dir.path() + "/CURRENT";
  ASSERT_EQ(ekv_fs_new_writable(fs, current.c_str(), &w, msg, sizeof(msg)), EKV_OK) << msg;
  write(w, "MANIFEST-000009\n", true);
  ASSERT_EQ(ekv_wfile_close(w, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_wfile_destroy(w);
  ASSERT_EQ(ekvtest::RawSize(current), 1024u + (16 + 40) + 40 + 40);
  ekvtest::FlipByte(current, 1024 + 56 + 20);  // the sync marker's nonce
  EXPECT_EQ(ekv_file_verify(env, current.c_str(), &logical, msg, sizeof(msg)), EKV_INTEGRITY);
  EXPECT_NE(std::string(msg).find("frame 1"), std::string::npos) << msg;
  EXPECT_EQ(ekv_file_check(env, current.c_str(), EKV_CHECK_LAST_FRAME_ONLY, &logical, &flags, msg,
                           sizeof(msg)),
            EKV_OK)
      << msg;

  // A writer that goes away without Close (a crash, an error path) leaves no final frame.
  const std::string wal = dir.path() + "/000010.log";
  ASSERT_EQ(ekv_fs_new_writable(fs, wal.c_str(), &w, msg, sizeof(msg)), EKV_OK) << msg;
  write(w, std::string(200, 'w'), false);
  ekv_wfile_destroy(w);
  EXPECT_EQ(ekv_file_check(env, wal.c_str(), 0, &logical, &flags, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(logical, 200u);
  ekv_fs_destroy(fs);
  ekv_env_destroy(env);
}

TEST(StoreLock, SecondOpenerFailsInUseUntilReleased) {
  ekvtest::TempDir dir;
  char msg[256];
  ekv_store_lock* first = nullptr;
  ASSERT_EQ(ekv_store_lock_acquire(dir.path().c_str(), &first, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_store_lock* second = nullptr;
  EXPECT_EQ(ekv_store_lock_acquire(dir.path().c_str(), &second, msg, sizeof(msg)), EKV_IN_USE);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(std::string(msg).find(dir.path()), std::string::npos) << msg;
  // Nothing was created in the directory by either call.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  ekv_store_lock_release(first);
  ASSERT_EQ(ekv_store_lock_acquire(dir.path().c_str(), &second, msg, sizeof(msg)), EKV_OK) << msg;
  ekv_store_lock_release(second);
  EXPECT_EQ(ekv_store_lock_acquire((dir.path() + "/missing").c_str(), &second, msg, sizeof(msg)),
            EKV_NOT_FOUND);
}

TEST(Bench, SealOpenRoundTripAndTamper) {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i * 7);
  std::string plain(4096, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(i * 31);
  std::string sealed(plain.size() + EKV_FRAME_OVERHEAD, '\0');
  std::string back(plain.size(), '\0');
  auto* p = reinterpret_cast<const uint8_t*>(plain.data());
  auto* s = reinterpret_cast<uint8_t*>(&sealed[0]);
  auto* b = reinterpret_cast<uint8_t*>(&back[0]);
  const int n = 2000;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(ekv_bench_seal(key, p, plain.size(), s, n), EKV_OK);
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_EQ(ekv_bench_open(key, s, sealed.size(), b, n), EKV_OK);
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(back, plain);
  auto gbps = [&](auto d) { return n * 4096.0 / std::chrono::duration<double>(d).count() / 1e9; };
  std::printf("4 KiB frames: seal %.2f GB/s, open %.2f GB/s (unoptimized if a sanitizer is on)\n",
              gbps(t1 - t0), gbps(t2 - t1));
  sealed[EKV_FRAME_OVERHEAD + 5] ^= 1;
  EXPECT_EQ(ekv_bench_open(key, s, sealed.size(), b, 1), EKV_INTEGRITY);
  EXPECT_EQ(ekv_bench_open(key, s, 10, b, 1), EKV_INVALID_ARGUMENT);
  EXPECT_EQ(ekv_bench_seal(key, p, plain.size(), s, 0), EKV_INVALID_ARGUMENT);
  EXPECT_EQ(ekv_bench_seal(nullptr, p, plain.size(), s, 1), EKV_INVALID_ARGUMENT);
  EXPECT_EQ(ekv_bench_seal(key, nullptr, 0, s, 1), EKV_OK);  // an empty frame
  EXPECT_EQ(ekv_bench_open(key, s, EKV_FRAME_OVERHEAD, b, 1), EKV_OK);
}

}  // namespace

// A key rotation waits for file creations that began before it (ekv_env_wait_file_creations):
// a creation counts from its key request until its header is written.
namespace {
struct BlockingKeys {
  ekv_callbacks inner;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
};
int32_t BlockingNewFileKey(void* ctx, const char* path, const uint8_t* aad, uint32_t aad_len,
                           uint8_t* dek_out, uint8_t* envelope_out, uint32_t envelope_cap,
                           uint32_t* envelope_len, char* msg, uint32_t msg_cap) {
  auto* keys = static_cast<BlockingKeys*>(ctx);
  keys->entered = true;
  while (!keys->release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return keys->inner.new_file_key(keys->inner.ctx, path, aad, aad_len, dek_out, envelope_out,
                                  envelope_cap, envelope_len, msg, msg_cap);
}
}  // namespace

TEST(FileCreations, AWaitCoversACreationFromItsKeyRequestUntilItsHeaderIsWritten) {
  ekvtest::TempDir dir;
  ekvtest::TestKeys test_keys;
  BlockingKeys keys;
  keys.inner = ekvtest::MakeCallbacks(&test_keys);
  ekv_callbacks cb = keys.inner;
  cb.ctx = &keys;
  cb.new_file_key = BlockingNewFileKey;
  ekv_env_options opts{0, 0};
  ekv_env* env = nullptr;
  char msg[256];
  ASSERT_EQ(ekv_env_create(&cb, &opts, &env, msg, sizeof(msg)), EKV_OK) << msg;

  int32_t done = -1;
  ASSERT_EQ(ekv_env_wait_file_creations(env, 0, &done, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(done, 1);  // nothing in flight

  const std::string path = dir.path() + "/000007.log";
  std::thread writer([&] {
    char wmsg[256];
    const std::string text(100, 'x');
    EXPECT_EQ(ekv_file_write(env, path.c_str(), reinterpret_cast<const uint8_t*>(text.data()),
                             text.size(), wmsg, sizeof(wmsg)),
              EKV_OK)
        << wmsg;
  });
  while (!keys.entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The creation holds its key request: a wait that began after it does not end.
  ASSERT_EQ(ekv_env_wait_file_creations(env, 50, &done, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(done, 0);
  keys.release = true;
  ASSERT_EQ(ekv_env_wait_file_creations(env, 60000, &done, msg, sizeof(msg)), EKV_OK) << msg;
  EXPECT_EQ(done, 1);
  // By then the header is on disk: the file is at least one header region long.
  EXPECT_GE(std::filesystem::file_size(path), 1024u);
  writer.join();
  ekv_env_destroy(env);
}
