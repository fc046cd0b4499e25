// State shared by the encrypted file system and every file object it hands out.
#pragma once

#include <memory>

#include "frame_cipher.h"
#include "key_service.h"
#include "rocksdb/file_system.h"

namespace ekv {

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
