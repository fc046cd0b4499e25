// kill -9 during synced writes: every acknowledged synced write must survive reopen.
//
// The parent re-executes this test binary running the (normally disabled) writer test in a
// child process, reads the numbers of acknowledged writes from a pipe, kills the child with
// SIGKILL at a random moment and then checks the database.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "env_handle.h"
#include "rocksdb/db.h"
#include "test_support.h"

using namespace ekvtest;

namespace {

std::string Key(int round, int i) { return "r" + std::to_string(round) + "-" + std::to_string(i); }
// Every fifth value spans several pages, so kills also land inside multi-page WAL writes.
std::string Value(int round, int i) {
  const size_t n = i % 5 == 0 ? 3000 + (i * 131) % 6000 : 50 + (i * 37) % 400;
  return std::string(n, static_cast<char>('a' + (i + round) % 26));
}

rocksdb::Status Open(ekv_env* env, const std::string& dir, rocksdb::DB** db) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.env = env->env.get();
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.write_buffer_size = 256 << 10;  // flushes and MANIFEST writes happen during the run too
  return rocksdb::DB::Open(o, dir, db);
}

// Child side. Writes until killed; reports each acknowledged write on fd 3.
TEST(CrashChild, DISABLED_Writer) {
  const char* dir = std::getenv("EKV_CRASH_DIR");
  const char* round_s = std::getenv("EKV_CRASH_ROUND");
  if (dir == nullptr || round_s == nullptr) GTEST_SKIP();
  const int round = std::atoi(round_s);
  TestKeys keys;
  ekv_env* env = CreateEnv(&keys);
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(Open(env, dir, &db).ok());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  for (int i = 0;; ++i) {
    ASSERT_TRUE(db->Put(wo, Key(round, i), Value(round, i)).ok());
    int32_t acked = i;
    if (write(3, &acked, sizeof(acked)) != sizeof(acked)) _exit(2);
  }
}

TEST(Crash, SyncedWritesSurviveKill9) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  std::mt19937 rng(std::random_device{}());
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(n, 0);
  exe[n] = '\0';
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const std::string round_s = std::to_string(round);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      dup2(fds[1], 3);
      setenv("EKV_CRASH_DIR", dir.c_str(), 1);
      setenv("EKV_CRASH_ROUND", round_s.c_str(), 1);
      const char* argv[] = {exe, "--gtest_filter=CrashChild.DISABLED_Writer",
                            "--gtest_also_run_disabled_tests", nullptr};
      execv(exe, const_cast<char**>(argv));
      _exit(127);
    }
    close(fds[1]);
    // Wait for the first acknowledged write (opening the DB and recovering the earlier rounds'
    // WALs takes a while on a loaded machine), then kill at a random moment.
    int32_t v = -1, last = -1;
    if (read(fds[0], &v, sizeof(v)) == sizeof(v)) last = v;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    while (read(fds[0], &v, sizeof(v)) == sizeof(v)) last = v;
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_GE(last, 0) << "child acknowledged nothing (too slow to start?)";

    TestKeys keys;
    ekv_env* env = CreateEnv(&keys);
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = Open(env, dir, &db);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    for (int r = 0; r <= round; ++r) {
      const int upto = r == round ? last : 0;  // earlier rounds were checked already
      for (int i = 0; i <= upto; ++i) {
        std::string got;
        s = db->Get(rocksdb::ReadOptions(), Key(r, i), &got);
        ASSERT_TRUE(s.ok()) << "round " << r << " lost acknowledged write " << i << " of " << last
                            << ": " << s.ToString();
        ASSERT_EQ(got, Value(r, i));
      }
    }
    delete db;
    ekv_env_destroy(env);
  }
}

}  // namespace
