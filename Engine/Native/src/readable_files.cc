#include "readable_files.h"

#include "errors.h"

namespace ekv {

// Sequential reads serve WAL and MANIFEST recovery. Under RocksDB's default WAL recovery mode
// (kPointInTimeRecovery) a Corruption status while reading a WAL silently ends the replay, as a
// CRC mismatch would, so a tampered frame would drop acknowledged writes without an error. An
// IOError instead fails the recovery ("loss of synced WAL"), so authentication failures reach
// RocksDB as IOError here; the [ekv:integrity] tag still tells the engine what happened. Opening
// a sequential file does the same: RocksDB asserts that reading IDENTITY fails only with an
// IOError (DBImpl::SetupDBId), and Debian's librocksdb keeps its asserts.
rocksdb::IOStatus HardenForRecovery(rocksdb::IOStatus s) {
  if (s.IsCorruption()) {
    return rocksdb::IOStatus::IOError(s.getState() != nullptr ? s.getState() : "[ekv:integrity]");
  }
  return s;
}

rocksdb::IOStatus EncryptedSequentialFile::Read(size_t n, const rocksdb::IOOptions& /*options*/,
                                                rocksdb::Slice* result, char* scratch,
                                                rocksdb::IODebugContext* /*dbg*/) {
  *result = rocksdb::Slice();
  return HardenForRecovery(Guarded(reader_->path(), "sequential read", [&] {
    // Reaching the known end of a file that is not closed: it may have grown (a live WAL or
    // LOG read while RocksDB appends to it). A closed file cannot grow.
    if (pos_ + n > reader_->logical_size() && !reader_->closed()) {
      rocksdb::IOStatus s = reader_->Refresh();
      if (!s.ok()) return s;
    }
    size_t got = 0;
    rocksdb::IOStatus s = reader_->ReadAt(pos_, n, scratch, &got);
    if (!s.ok()) return s;
    pos_ += got;
    *result = rocksdb::Slice(scratch, got);
    return rocksdb::IOStatus::OK();
  }));
}

rocksdb::IOStatus EncryptedSequentialFile::Skip(uint64_t n) {
  // Like lseek, skipping past the end is allowed; later reads then return nothing.
  pos_ += n;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedSequentialFile::PositionedRead(uint64_t offset, size_t n,
                                                          const rocksdb::IOOptions& /*options*/,
                                                          rocksdb::Slice* result, char* scratch,
                                                          rocksdb::IODebugContext* /*dbg*/) {
  *result = rocksdb::Slice();
  return HardenForRecovery(Guarded(reader_->path(), "positioned read", [&] {
    size_t got = 0;
    rocksdb::IOStatus s = reader_->ReadAt(offset, n, scratch, &got);
    if (s.ok()) *result = rocksdb::Slice(scratch, got);
    return s;
  }));
}

rocksdb::IOStatus EncryptedRandomAccessFile::Read(uint64_t offset, size_t n,
                                                  const rocksdb::IOOptions& /*options*/,
                                                  rocksdb::Slice* result, char* scratch,
                                                  rocksdb::IODebugContext* /*dbg*/) const {
  *result = rocksdb::Slice();
  return Guarded(reader_->path(), "random read", [&] {
    size_t got = 0;
    rocksdb::IOStatus s = reader_->ReadAt(offset, n, scratch, &got);
    if (s.ok()) *result = rocksdb::Slice(scratch, got);
    return s;
  });
}

}  // namespace ekv
