// The encrypted FileSystem handed to RocksDB (through an Env from NewCompositeEnv).
#pragma once

#include <memory>
#include <string>

#include "frame_reader.h"
#include "fs_context.h"
#include "rocksdb/file_system.h"

namespace ekv {

// Every file created through this file system is stored in the format of docs/format.md;
// reads authenticate every byte. Directory operations, renames, links, deletes and locks pass
// through to the base file system unchanged (names and sizes are not secret, see the threat
// model in docs/format.md).
class EncryptedFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit EncryptedFileSystem(std::shared_ptr<FsContext> ctx);

  static const char* kClassName() { return "EkvEncryptedFileSystem"; }
  const char* Name() const override { return kClassName(); }

  const std::shared_ptr<FsContext>& context() const { return ctx_; }

  rocksdb::IOStatus NewSequentialFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewMemoryMappedFileBuffer(
      const std::string& fname, std::unique_ptr<rocksdb::MemoryMappedFileBuffer>* result) override;
  // SST and blob files (flush and compaction outputs): RocksDB's own write buffer is turned off so
  // that each block reaches Append on its own and becomes its own frame (format v3,
  // frame_index.h); the encrypted writer batches sealed frames into large writes itself.
  rocksdb::FileOptions OptimizeForCompactionTableWrite(
      const rocksdb::FileOptions& file_options,
      const rocksdb::ImmutableDBOptions& db_options) const override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileSize(const std::string& fname, const rocksdb::IOOptions& options,
                                uint64_t* size, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetChildrenFileAttributes(const std::string& dir,
                                              const rocksdb::IOOptions& options,
                                              std::vector<rocksdb::FileAttributes>* result,
                                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewLogger(const std::string& fname, const rocksdb::IOOptions& options,
                              std::shared_ptr<rocksdb::Logger>* result,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LockFile(const std::string& fname, const rocksdb::IOOptions& options,
                             rocksdb::FileLock** lock, rocksdb::IODebugContext* dbg) override;

  // Opens an authenticated reader (used by the readable files and by ekv_file_read/verify);
  // `physical_limit` as in FrameReader::Open.
  rocksdb::IOStatus OpenReader(const std::string& fname, const rocksdb::FileOptions& opts,
                               std::unique_ptr<FrameReader>* reader,
                               uint64_t physical_limit = UINT64_MAX);

 private:
  rocksdb::IOStatus CreateFile(const std::string& fname, const rocksdb::FileOptions& opts,
                               std::unique_ptr<rocksdb::FSWritableFile>* result);
  rocksdb::IOStatus ReopenFile(const std::string& fname, const rocksdb::FileOptions& opts,
                               std::unique_ptr<rocksdb::FSWritableFile>* result);
  // Logical size without a key: from the physical size and the frame size in the header for
  // immutable files, by walking the frame headers for log-like files (docs/format.md).
  rocksdb::IOStatus LogicalSize(const std::string& fname, uint64_t physical, uint64_t* logical);
  // chmod to `mode` when the context is owner_only (on disk); a no-op in memory.
  rocksdb::IOStatus RestrictMode(const std::string& path, unsigned mode, const char* what);

  std::shared_ptr<FsContext> ctx_;
};

}  // namespace ekv
