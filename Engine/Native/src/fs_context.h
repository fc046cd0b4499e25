// State shared by the encrypted file system and every file object it hands out.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "frame_cipher.h"
#include "key_service.h"
#include "rocksdb/file_system.h"

namespace ekv {

// What a writer publishes about a file it has open: its logical size, and where its stable
// frames end (the physical offset of its tail frame, published after the frames before it were
// written; they are not written again, except by a Truncate into them).
struct OpenFileState {
  std::atomic<uint64_t> logical{0};
  std::atomic<uint64_t> stable_end{0};
};

// Logical sizes of the files this process has open for writing, by path. GetFileSize answers
// from here instead of walking the frame headers of a log-like file that is still growing (and
// sees appended bytes before they are flushed, as a plain file would show them). ekv_file_verify
// authenticates such a file only up to its stable end (LookupStableEnd), so it never reads a
// frame while the writer rewrites it.
class OpenFileSizes {
 public:
  using Size = std::shared_ptr<OpenFileState>;
  void Register(const std::string& path, const Size& size) const {
    std::lock_guard<std::mutex> lock(mu_);
    sizes_[path] = size;
  }
  void Unregister(const std::string& path, const Size& size) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(path);
    if (it != sizes_.end() && it->second == size) sizes_.erase(it);
  }
  bool Lookup(const std::string& path, uint64_t* size) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(path);
    if (it == sizes_.end()) return false;
    *size = it->second->logical.load(std::memory_order_relaxed);
    return true;
  }
  bool LookupStableEnd(const std::string& path, uint64_t* end) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(path);
    if (it == sizes_.end()) return false;
    *end = it->second->stable_end.load(std::memory_order_acquire);
    return true;
  }
  // A renamed open file keeps its entry under the new name; deletes need nothing (the stat of
  // the base file system fails first).
  void Rename(const std::string& from, const std::string& to) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(from);
    if (it == sizes_.end()) {
      sizes_.erase(to);
      return;
    }
    Size s = it->second;
    sizes_.erase(it);
    sizes_[to] = s;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<std::string, Size> sizes_;
};

// Files whose key has been issued but whose header is not yet written. A key rotation publishes a
// new current version, then waits (ekv_env_wait_file_creations) for every creation that began
// before it: from then on no file can still appear with the previous version, so the rotation's
// final inventory of headers is complete without guessing how long a header write takes.
class FileCreations {
 public:
  uint64_t Begin() const {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t ticket = ++issued_;
    active_.insert(ticket);
    return ticket;
  }
  void End(uint64_t ticket) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_.erase(ticket);
    }
    done_.notify_all();
  }
  // True once every creation that began before the call has ended; false at the timeout.
  bool WaitForEarlier(std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t barrier = issued_;
    return done_.wait_for(lock, timeout,
                          [&] { return active_.empty() || *active_.begin() > barrier; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable done_;
  mutable uint64_t issued_ = 0;
  mutable std::set<uint64_t> active_;
};

// Holds a FileCreations ticket for one file creation.
class FileCreationScope {
 public:
  explicit FileCreationScope(const FileCreations& creations)
      : creations_(creations), ticket_(creations.Begin()) {}
  ~FileCreationScope() { creations_.End(ticket_); }
  FileCreationScope(const FileCreationScope&) = delete;
  FileCreationScope& operator=(const FileCreationScope&) = delete;

 private:
  const FileCreations& creations_;
  uint64_t ticket_;
};

struct FsContext {
  FsContext(std::shared_ptr<rocksdb::FileSystem> base_fs, const ekv_callbacks& callbacks,
            uint32_t frame_size_for_new_files)
      : base(std::move(base_fs)),
        keys(callbacks),
        frame_size(frame_size_for_new_files),
        stats(std::make_shared<Stats>()) {}

  std::shared_ptr<rocksdb::FileSystem> base;  // plaintext file system underneath
  KeyService keys;
  uint32_t frame_size;  // for new files; existing files use the size in their header
  std::shared_ptr<Stats> stats;
  OpenFileSizes open_sizes;
  FileCreations creations;       // key issued, header not yet written (encrypted_fs.cc CreateFile)
  mutable std::mutex rewrap_mu;  // serializes header re-wraps (header_ops.cc)
  // On disk (not the in-memory file system): files are made 0600 and directories 0700 whatever
  // the process umask, so other local users see neither names' contents nor write timing.
  bool owner_only = false;
};

// Options for opening files of the base file system: the encrypted layer always does
// buffered, non-mmap I/O itself (frames are not sector aligned and must be authenticated
// before anyone sees them).
inline rocksdb::FileOptions BaseFileOptions(const rocksdb::FileOptions& in) {
  rocksdb::FileOptions out(in);
  out.use_direct_reads = false;
  out.use_direct_writes = false;
  out.use_mmap_reads = false;
  out.use_mmap_writes = false;
  return out;
}

// Cuts the plaintext file at `path` to `size` bytes. PosixFileSystem has no
// FileSystem::Truncate, so this goes through a reopened base writable file (ftruncate), which
// works for both the POSIX and the in-memory file system.
rocksdb::IOStatus TruncatePhysical(rocksdb::FileSystem* base, const std::string& path,
                                   uint64_t size);

}  // namespace ekv
