// Authenticated random access to the logical bytes of one encrypted file. The building block
// of the RocksDB readable files and of ekv_file_read / ekv_file_verify.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format.h"
#include "frame_cipher.h"
#include "fs_context.h"

namespace ekv {

class FrameReader {
 public:
  // Opens `path`, validates its header, obtains its DEK and authenticates its last frame to
  // learn where the file really ends (see ResolveTail).
  static rocksdb::IOStatus Open(std::shared_ptr<const FsContext> ctx, const std::string& path,
                                const rocksdb::FileOptions& options,
                                std::unique_ptr<FrameReader>* out);

  ~FrameReader();

  const std::string& path() const { return path_; }
  uint64_t logical_size() const { return logical_size_; }
  uint32_t frame_size() const { return slot_.frame_size; }
  const HeaderSlot& header() const { return slot_; }
  // The last frame carries the final flag: the file was closed.
  bool closed() const { return last_final_; }
  // The physical tail beyond the last authentic frame was dropped (crash while writing).
  bool torn() const { return torn_; }
  // First physical byte after the last authentic frame.
  uint64_t authentic_physical_end() const;

  // Reads up to n logical bytes at `offset` into `out`; *got receives the count (short only
  // at end of file). Every byte returned has been authenticated. Thread-safe.
  rocksdb::IOStatus ReadAt(uint64_t offset, size_t n, char* out, size_t* got) const;

  // Hands the DEK-holding cipher to a writer that reopens the file; the reader is unusable
  // afterwards.
  std::unique_ptr<FrameCipher> ReleaseCipher() { return std::move(cipher_); }

  // Re-examines the physical size, for files that may still be growing (a live WAL read by a
  // sequential reader). Not thread-safe: sequential files are used by one thread at a time.
  rocksdb::IOStatus Refresh();

 private:
  FrameReader(std::shared_ptr<const FsContext> ctx, std::string path);

  // Reads and validates the header and obtains the DEK (no-op for a 0-byte file).
  rocksdb::IOStatus LoadHeader(uint64_t physical_size);

  // Decides the logical end from the physical size: authenticates the last frame with
  // final=1, then final=0. SST/blob files must end in a final frame. For other files an
  // unauthenticated last frame, or a physical remainder too short to be a frame, is a torn
  // tail: the data ends at the last authentic frame, as after a crash in plain RocksDB.
  rocksdb::IOStatus ResolveTail(uint64_t physical_size);

  // Reads the stored bytes of frames [first, last] into buf.
  rocksdb::IOStatus ReadFrames(uint64_t first, uint64_t last, std::vector<uint8_t>* buf) const;
  size_t FramePlainBytes(uint64_t index) const {
    return index + 1 == frame_count_ ? last_frame_bytes_ : slot_.frame_size;
  }
  bool FrameIsFinal(uint64_t index) const { return index + 1 == frame_count_ && last_final_; }
  rocksdb::IOStatus AuthFailure(uint64_t index) const;

  std::shared_ptr<const FsContext> ctx_;
  std::string path_;
  bool requires_final_;
  std::unique_ptr<rocksdb::FSRandomAccessFile> target_;
  HeaderSlot slot_;
  std::unique_ptr<FrameCipher> cipher_;  // null for an empty (0-byte) file
  uint64_t frame_count_ = 0;             // authentic frames
  uint64_t last_frame_bytes_ = 0;        // plaintext bytes of the last authentic frame
  uint64_t logical_size_ = 0;
  bool last_final_ = false;
  bool torn_ = false;

  // One decrypted frame, so that consecutive reads that split a frame (RocksDB blocks are not
  // frame aligned) decrypt it once.
  mutable std::mutex cache_mu_;
  mutable uint64_t cached_index_ = UINT64_MAX;
  mutable std::vector<uint8_t> cached_plain_;
};

}  // namespace ekv
