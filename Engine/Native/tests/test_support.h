// Test-only helpers: trivial key callbacks, temp directories, raw file access.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "ekvfs.h"

namespace ekvtest {

// Key callbacks for tests. The "wrap" is DEK XOR a fixed test key plus a SHA-256 check over
// (aad || DEK) so a changed header is rejected with EKV_INTEGRITY, as the real key service
// rejects it. Never use anything like this outside tests.
struct TestKeys {
  std::atomic<bool> unavailable{false};         // simulate a locked store
  std::atomic<bool> namespace_deleted{false};   // new files under /ns_1/: EKV_NAMESPACE_DELETED
  std::atomic<bool> hold_namespace_new{false};  // new files under /ns_1/ wait while this is set
  std::atomic<int> held_namespace_new{0};       // ... and count here that they started waiting
  std::atomic<int> new_calls{0};
  std::atomic<int> open_calls{0};
  std::atomic<int> rewrap_calls{0};
  std::atomic<bool> rewrap_wrong_dek{false};  // simulate a broken key service
  std::atomic<bool> rewrap_refuses{false};    // ... or one that cannot rewrap (EKV_KEY_UNAVAILABLE)
};
ekv_callbacks MakeCallbacks(TestKeys* keys);

// Creates an env (aborting the test on failure).
ekv_env* CreateEnv(TestKeys* keys, uint32_t frame_size = 0, bool mem = false);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadRaw(const std::string& path);
void WriteRaw(const std::string& path, const std::string& bytes);
void FlipByte(const std::string& path, uint64_t offset);
uint64_t RawSize(const std::string& path);
// All regular files below `dir`, recursively.
std::vector<std::string> ListFiles(const std::string& dir);
// Files below `dir` whose raw bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle);

}  // namespace ekvtest
