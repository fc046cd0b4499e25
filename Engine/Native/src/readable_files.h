// RocksDB's readable file interfaces over a FrameReader.
#pragma once

#include <memory>

#include "frame_reader.h"
#include "rocksdb/file_system.h"

namespace ekv {

// Turns Corruption into IOError (keeping the message and its [ekv:integrity] tag) for everything
// RocksDB reads sequentially; see readable_files.cc.
rocksdb::IOStatus HardenForRecovery(rocksdb::IOStatus s);

// Sequential reads (WAL, MANIFEST, CURRENT, OPTIONS, ...). When a read reaches the end known so
// far, the physical size is re-examined once, so a reader that tails a live WAL sees new data.
class EncryptedSequentialFile : public rocksdb::FSSequentialFile {
 public:
  explicit EncryptedSequentialFile(std::unique_ptr<FrameReader> reader)
      : reader_(std::move(reader)) {}

  rocksdb::IOStatus Read(size_t n, const rocksdb::IOOptions& options, rocksdb::Slice* result,
                         char* scratch, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Skip(uint64_t n) override;
  rocksdb::IOStatus PositionedRead(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                                   rocksdb::Slice* result, char* scratch,
                                   rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus InvalidateCache(size_t, size_t) override { return rocksdb::IOStatus::OK(); }
  bool use_direct_io() const override { return false; }

 private:
  std::unique_ptr<FrameReader> reader_;
  uint64_t pos_ = 0;
};

// Random reads (SST and blob files). Read is called concurrently by many threads.
class EncryptedRandomAccessFile : public rocksdb::FSRandomAccessFile {
 public:
  explicit EncryptedRandomAccessFile(std::unique_ptr<FrameReader> reader)
      : reader_(std::move(reader)) {}

  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* dbg) const override;
  rocksdb::IOStatus Prefetch(uint64_t, size_t, const rocksdb::IOOptions&,
                             rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();
  }
  // 0 = "no stable id": RocksDB then does not key any cache on the inode of the file.
  size_t GetUniqueId(char*, size_t) const override { return 0; }
  rocksdb::IOStatus InvalidateCache(size_t, size_t) override { return rocksdb::IOStatus::OK(); }
  bool use_direct_io() const override { return false; }

 private:
  std::unique_ptr<FrameReader> reader_;
};

}  // namespace ekv
