#include "encrypted_fs.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "frame_index.h"
#include "frame_map.h"
#include "readable_files.h"
#include "writable_file.h"

namespace ekv {

rocksdb::IOStatus TruncatePhysical(rocksdb::FileSystem* base, const std::string& path,
                                   uint64_t size) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s =
      base->ReopenWritableFile(path, BaseFileOptions(rocksdb::FileOptions()), &file, nullptr);
  if (s.ok()) s = file->Truncate(size, rocksdb::IOOptions(), nullptr);
  if (file != nullptr) {
    rocksdb::IOStatus c = file->Close(rocksdb::IOOptions(), nullptr);
    if (s.ok()) s = c;
  }
  return s.ok() ? s : Annotate(s, path, ("truncate to " + std::to_string(size) + " bytes").c_str());
}

EncryptedFileSystem::EncryptedFileSystem(std::shared_ptr<FsContext> ctx)
    : rocksdb::FileSystemWrapper(ctx->base), ctx_(std::move(ctx)) {}

rocksdb::IOStatus EncryptedFileSystem::OpenReader(const std::string& fname,
                                                  const rocksdb::FileOptions& opts,
                                                  std::unique_ptr<FrameReader>* reader,
                                                  uint64_t physical_limit) {
  return FrameReader::Open(ctx_, fname, opts, reader, physical_limit);
}

rocksdb::IOStatus EncryptedFileSystem::NewSequentialFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSSequentialFile>* result, rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return HardenForRecovery(Guarded(fname, "NewSequentialFile", [&] {
    std::unique_ptr<FrameReader> reader;
    rocksdb::IOStatus s = OpenReader(fname, opts, &reader);
    if (s.ok()) result->reset(new EncryptedSequentialFile(std::move(reader)));
    return s;
  }));
}

rocksdb::IOStatus EncryptedFileSystem::NewRandomAccessFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSRandomAccessFile>* result, rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return Guarded(fname, "NewRandomAccessFile", [&] {
    std::unique_ptr<FrameReader> reader;
    rocksdb::IOStatus s = OpenReader(fname, opts, &reader);
    if (s.ok()) result->reset(new EncryptedRandomAccessFile(std::move(reader)));
    return s;
  });
}

rocksdb::IOStatus EncryptedFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return Guarded(fname, "NewWritableFile", [&] { return CreateFile(fname, opts, result); });
}

rocksdb::IOStatus EncryptedFileSystem::CreateFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result) {
  // From the key request until the header is written: what a key rotation waits for.
  FileCreationScope creation(ctx_->creations);
  // Ask for the key first: if it is unavailable (store locked) nothing is created or truncated.
  SecretKey dek;
  HeaderSlot slot;
  rocksdb::IOStatus s = ctx_->keys.NewFileKey(fname, ctx_->frame_size, &slot, &dek);
  if (!s.ok()) return s;
  uint8_t header[kHeaderRegionSize];
  EncodeNewHeaderRegion(slot, header);

  const rocksdb::FileOptions base_opts = BaseFileOptions(opts);
  std::unique_ptr<rocksdb::FSWritableFile> creator;
  s = target()->NewWritableFile(fname, base_opts, &creator, nullptr);
  if (!s.ok()) return Annotate(s, fname, "create");
  // Before the first byte is written: the base file system creates files 0644 & ~umask.
  s = RestrictMode(fname, 0600, "make owner-only");
  if (!s.ok()) {
    creator->Close(rocksdb::IOOptions(), nullptr).PermitUncheckedError();
    return s;
  }
  s = creator->Append(rocksdb::Slice(reinterpret_cast<const char*>(header), sizeof(header)),
                      rocksdb::IOOptions(), nullptr);
  rocksdb::IOStatus c = creator->Close(rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, fname, "write header");
  if (!c.ok()) return Annotate(c, fname, "close after writing header");

  EncryptedWritableFile::State st;
  s = target()->NewRandomRWFile(fname, base_opts, &st.target, nullptr);
  if (!s.ok()) return Annotate(s, fname, "open for frame writes");
  st.path = fname;
  st.ctx = ctx_;
  st.cipher.reset(new FrameCipher(dek, slot.file_id, ctx_->stats));
  st.frame_size = slot.frame_size;
  st.format_version = slot.format_version;
  result->reset(new EncryptedWritableFile(opts, std::move(st)));
  ctx_->stats->files_created.fetch_add(1, std::memory_order_relaxed);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedFileSystem::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return Guarded(fname, "ReopenWritableFile", [&] { return ReopenFile(fname, opts, result); });
}

rocksdb::IOStatus EncryptedFileSystem::ReopenFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result) {
  uint64_t physical = 0;
  rocksdb::IOStatus s = target()->GetFileSize(fname, rocksdb::IOOptions(), &physical, nullptr);
  // Like POSIX reopen (O_CREAT without O_TRUNC): a missing or empty file is simply created.
  if (s.IsNotFound() || s.IsPathNotFound() || (s.ok() && physical == 0)) {
    return CreateFile(fname, opts, result);
  }
  if (!s.ok()) return Annotate(s, fname, "get physical size");

  std::unique_ptr<FrameReader> reader;
  s = OpenReader(fname, opts, &reader);
  if (!s.ok()) return s;
  if (!reader->has_key()) return CreateFile(fname, opts, result);
  if (IsIndexedVersion(reader->header().format_version)) {
    // A closed v3/v4 file ends with its frame index; RocksDB never reopens an SST or blob file
    // (and a v4 writer's nonces are only unique for the writer that created the file).
    return rocksdb::IOStatus::NotSupported(
        fname + ": reopening a format v" + std::to_string(reader->header().format_version) +
        " SST/blob file for writing");
  }
  EncryptedWritableFile::State st;
  st.path = fname;
  st.ctx = ctx_;
  st.frame_size = reader->frame_size();
  const FrameMap& frames = reader->frames();
  st.tail_index = frames.count();
  st.tail_start = frames.logical_size();
  if (IsImmutableFile(fname) && frames.count() > 0 &&
      frames.Bytes(frames.count() - 1) < st.frame_size) {
    // Fixed stride: the partial final frame becomes the tail again. It stays on disk as a valid
    // closed file until new data replaces it (RocksDB never reopens an SST; this is for tools).
    st.tail_index = frames.count() - 1;
    st.tail_start = frames.Start(st.tail_index);
    const size_t keep = static_cast<size_t>(frames.Bytes(st.tail_index));
    st.tail.resize(keep);
    size_t got = 0;
    if (keep > 0) {
      s = reader->ReadAt(st.tail_start, keep, &st.tail[0], &got);
      if (!s.ok()) return s;
      if (got != keep) return InternalError(fname, "short read of the tail frame on reopen");
    }
    st.tail_on_disk_final = reader->closed();
  }
  // Log-like files: the last frame may have been synced, so it is never rewritten; new data
  // starts a new frame. A torn tail is cut so that the next frame lands right after the last
  // authentic one.
  if (reader->torn()) {
    s = TruncatePhysical(target(), fname, reader->authentic_physical_end());
    if (!s.ok()) return s;
  } else if (!IsImmutableFile(fname) && reader->closed()) {
    // A cleanly closed log-like file ends in an empty final frame, which may only be last: cut
    // it, and this writer's Close writes a new one. (Frames before it stay as they are.)
    st.tail_index = frames.count() - 1;
    s = TruncatePhysical(target(), fname, frames.Physical(st.tail_index));
    if (!s.ok()) return s;
  }
  st.cipher = reader->ReleaseCipher();
  reader.reset();
  s = target()->NewRandomRWFile(fname, BaseFileOptions(opts), &st.target, nullptr);
  if (!s.ok()) return Annotate(s, fname, "open for frame writes");
  // Whatever an earlier writer left is made durable now, so every existing frame can be vouched
  // for as durable by the frames this writer adds (docs/format.md, "sync distance").
  s = st.target->Sync(rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, fname, "sync on reopen");
  st.durable_frames = st.tail_index;
  result->reset(new EncryptedWritableFile(opts, std::move(st)));
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& /*old_fname*/,
    const rocksdb::FileOptions& /*opts*/, std::unique_ptr<rocksdb::FSWritableFile>* result,
    rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return Guarded(fname, "ReuseWritableFile", [&] {
    return rocksdb::IOStatus::NotSupported(
        fname +
        ": WAL recycling (recycle_log_file_num > 0) is not supported by the encrypted "
        "file system");
  });
}

rocksdb::IOStatus EncryptedFileSystem::NewRandomRWFile(
    const std::string& fname, const rocksdb::FileOptions& /*opts*/,
    std::unique_ptr<rocksdb::FSRandomRWFile>* result, rocksdb::IODebugContext* /*dbg*/) {
  result->reset();
  return Guarded(fname, "NewRandomRWFile", [&] {
    return rocksdb::IOStatus::NotSupported(
        fname +
        ": random read/write files are not supported by the encrypted file system (RocksDB "
        "uses them only to write a global sequence number into an ingested SST; use "
        "IngestExternalFileOptions::write_global_seqno = false)");
  });
}

rocksdb::IOStatus EncryptedFileSystem::NewMemoryMappedFileBuffer(
    const std::string& fname, std::unique_ptr<rocksdb::MemoryMappedFileBuffer>* result) {
  result->reset();
  return Guarded(fname, "NewMemoryMappedFileBuffer", [&] {
    return rocksdb::IOStatus::NotSupported(
        fname + ": memory-mapped files are not supported by the encrypted file system");
  });
}

rocksdb::IOStatus EncryptedFileSystem::LogicalSize(const std::string& fname, uint64_t physical,
                                                   uint64_t* logical) {
  *logical = 0;
  if (physical == 0) return rocksdb::IOStatus::OK();
  if (physical < kHeaderRegionSize) {
    return IntegrityError(
        fname, "header truncated (" + std::to_string(physical) + " of 1024 bytes present)");
  }
  std::unique_ptr<rocksdb::FSRandomAccessFile> file;
  rocksdb::IOStatus s =
      target()->NewRandomAccessFile(fname, BaseFileOptions(rocksdb::FileOptions()), &file, nullptr);
  if (!s.ok()) return Annotate(s, fname, "open to read header");
  uint8_t region[kHeaderRegionSize];
  rocksdb::Slice got;
  s = file->Read(0, sizeof(region), rocksdb::IOOptions(), &got, reinterpret_cast<char*>(region),
                 nullptr);
  if (!s.ok()) return Annotate(s, fname, "read header");
  if (got.data() != reinterpret_cast<char*>(region)) std::memcpy(region, got.data(), got.size());
  HeaderSlot slot;
  s = DecodeHeaderRegion(fname, region, got.size(), &slot);
  if (!s.ok()) return s;
  // Not authenticated: a torn or forged last frame is only discovered when the file is
  // opened. RocksDB uses this size for accounting and to size reads of closed files, whose
  // last frame the reader authenticates at open anyway.
  if (IsImmutableFile(fname) && IsIndexedVersion(slot.format_version)) {
    uint8_t trailer[kIndexTrailerSize] = {};
    if (physical >= kHeaderRegionSize + kIndexTrailerSize) {
      s = file->Read(physical - kIndexTrailerSize, sizeof(trailer), rocksdb::IOOptions(), &got,
                     reinterpret_cast<char*>(trailer), nullptr);
      if (!s.ok()) return Annotate(s, fname, "read frame index trailer");
      if (got.size() != sizeof(trailer)) return rocksdb::IOStatus::OK();
      if (got.data() != reinterpret_cast<char*>(trailer)) {
        std::memcpy(trailer, got.data(), got.size());
      }
    }
    *logical = IndexedLogicalSize(slot.format_version, physical, trailer);
    return rocksdb::IOStatus::OK();
  }
  if (IsImmutableFile(fname)) {
    bool torn = false;
    *logical = FixedLogicalSize(physical, slot.frame_size, &torn);
    return rocksdb::IOStatus::OK();
  }
  FrameMap map(slot.frame_size);
  RawReader read = [&](uint64_t off, size_t n, char* buf, rocksdb::Slice* out) {
    return file->Read(off, n, rocksdb::IOOptions(), out, buf, nullptr);
  };
  s = WalkFrames(read, slot.file_id, physical, &map);
  if (!s.ok()) return Annotate(s, fname, "walk frame headers");
  *logical = map.logical_size();
  return rocksdb::IOStatus::OK();
}

rocksdb::FileOptions EncryptedFileSystem::OptimizeForCompactionTableWrite(
    const rocksdb::FileOptions& file_options, const rocksdb::ImmutableDBOptions& db_options) const {
  rocksdb::FileOptions o = target()->OptimizeForCompactionTableWrite(file_options, db_options);
  o.writable_file_max_buffer_size = 0;
  return o;
}

rocksdb::IOStatus EncryptedFileSystem::GetFileSize(const std::string& fname,
                                                   const rocksdb::IOOptions& options,
                                                   uint64_t* size, rocksdb::IODebugContext* dbg) {
  *size = 0;
  return Guarded(fname, "GetFileSize", [&] {
    uint64_t physical = 0;
    rocksdb::IOStatus s = target()->GetFileSize(fname, options, &physical, dbg);
    if (!s.ok()) return s;  // unchanged, so NotFound looks exactly like plain RocksDB's
    if (ctx_->open_sizes.Lookup(fname, size)) return s;
    return LogicalSize(fname, physical, size);
  });
}

rocksdb::IOStatus EncryptedFileSystem::RenameFile(const std::string& src, const std::string& dst,
                                                  const rocksdb::IOOptions& options,
                                                  rocksdb::IODebugContext* dbg) {
  return Guarded(src, "RenameFile", [&] {
    rocksdb::IOStatus s = target()->RenameFile(src, dst, options, dbg);
    if (s.ok()) ctx_->open_sizes.Rename(src, dst);
    return s;
  });
}

rocksdb::IOStatus EncryptedFileSystem::GetChildrenFileAttributes(
    const std::string& dir, const rocksdb::IOOptions& options,
    std::vector<rocksdb::FileAttributes>* result, rocksdb::IODebugContext* dbg) {
  return Guarded(dir, "GetChildrenFileAttributes", [&] {
    rocksdb::IOStatus s = target()->GetChildrenFileAttributes(dir, options, result, dbg);
    if (!s.ok()) return s;
    for (rocksdb::FileAttributes& a : *result) {
      uint64_t logical = 0;
      if (ctx_->open_sizes.Lookup(dir + "/" + a.name, &logical)) {
        a.size_bytes = logical;
        continue;
      }
      // Entries whose header cannot be read (sub-directories, files being created right now,
      // foreign files) keep their physical size rather than failing the whole listing.
      if (LogicalSize(dir + "/" + a.name, a.size_bytes, &logical).ok()) a.size_bytes = logical;
    }
    return rocksdb::IOStatus::OK();
  });
}

rocksdb::IOStatus EncryptedFileSystem::Truncate(const std::string& fname, size_t size,
                                                const rocksdb::IOOptions& options,
                                                rocksdb::IODebugContext* dbg) {
  return Guarded(fname, "Truncate", [&] {
    // Truncating the logical content means re-sealing the new last frame: reopen for append,
    // cut, close (which writes the final frame).
    rocksdb::IOStatus s = target()->FileExists(fname, options, dbg);
    if (!s.ok()) return s;
    std::unique_ptr<rocksdb::FSWritableFile> file;
    s = ReopenFile(fname, rocksdb::FileOptions(), &file);
    if (!s.ok()) return s;
    s = file->Truncate(size, options, dbg);
    rocksdb::IOStatus c = file->Close(options, dbg);
    return s.ok() ? c : s;
  });
}

rocksdb::IOStatus EncryptedFileSystem::NewLogger(const std::string& fname,
                                                 const rocksdb::IOOptions& options,
                                                 std::shared_ptr<rocksdb::Logger>* result,
                                                 rocksdb::IODebugContext* dbg) {
  // FileSystemWrapper would forward to the base file system, whose logger writes plaintext
  // through its own files. FileSystem's generic implementation builds the logger on
  // this->NewWritableFile, so the info LOG is encrypted like every other file.
  return Guarded(fname, "NewLogger",
                 [&] { return rocksdb::FileSystem::NewLogger(fname, options, result, dbg); });
}

rocksdb::IOStatus EncryptedFileSystem::RestrictMode(const std::string& path, unsigned mode,
                                                    const char* what) {
  if (!ctx_->owner_only) return rocksdb::IOStatus::OK();
  // Already so (an existing directory, as on a read-only open): nothing to change, nothing written.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 07777) == static_cast<mode_t>(mode)) {
    return rocksdb::IOStatus::OK();
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    const int err = errno;
    // A read-only file system (a read-only open on a read-only mount) cannot change modes, and
    // nothing can be created there either, so there is nothing to protect.
    if (err == EROFS) return rocksdb::IOStatus::OK();
    return Annotate(rocksdb::IOStatus::IOError(std::strerror(err)), path, what);
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedFileSystem::CreateDir(const std::string& dirname,
                                                 const rocksdb::IOOptions& options,
                                                 rocksdb::IODebugContext* dbg) {
  return Guarded(dirname, "CreateDir", [&] {
    rocksdb::IOStatus s = target()->CreateDir(dirname, options, dbg);
    return s.ok() ? RestrictMode(dirname, 0700, "make directory owner-only") : s;
  });
}

rocksdb::IOStatus EncryptedFileSystem::CreateDirIfMissing(const std::string& dirname,
                                                          const rocksdb::IOOptions& options,
                                                          rocksdb::IODebugContext* dbg) {
  return Guarded(dirname, "CreateDirIfMissing", [&] {
    rocksdb::IOStatus s = target()->CreateDirIfMissing(dirname, options, dbg);
    return s.ok() ? RestrictMode(dirname, 0700, "make directory owner-only") : s;
  });
}

rocksdb::IOStatus EncryptedFileSystem::LockFile(const std::string& fname,
                                                const rocksdb::IOOptions& options,
                                                rocksdb::FileLock** lock,
                                                rocksdb::IODebugContext* dbg) {
  return Guarded(fname, "LockFile", [&] {
    rocksdb::IOStatus s = target()->LockFile(fname, options, lock, dbg);
    return s.ok() ? RestrictMode(fname, 0600, "make lock file owner-only") : s;
  });
}

}  // namespace ekv
