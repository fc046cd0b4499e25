// Authenticated random access to the logical bytes of one encrypted file. The building block
// of the RocksDB readable files and of ekv_file_read / ekv_file_verify.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format.h"
#include "frame_cipher.h"
#include "frame_index.h"
#include "frame_map.h"
#include "fs_context.h"
#include "wiping_allocator.h"

namespace ekv {

class FrameReader {
 public:
  // Opens `path`, validates its header, obtains its DEK and finds where the file really ends
  // (see ResolveTail). With `physical_limit`, reads the file as if it ended there (at most): for
  // the stable frames of a file another thread is still writing (OpenFileState::stable_end).
  static rocksdb::IOStatus Open(std::shared_ptr<const FsContext> ctx, const std::string& path,
                                const rocksdb::FileOptions& options,
                                std::unique_ptr<FrameReader>* out,
                                uint64_t physical_limit = UINT64_MAX);

  ~FrameReader();

  const std::string& path() const { return path_; }
  uint64_t logical_size() const { return map_.logical_size(); }
  uint32_t frame_size() const { return slot_.frame_size; }
  const HeaderSlot& header() const { return slot_; }
  const FrameMap& frames() const { return map_; }
  bool has_key() const { return cipher_ != nullptr; }
  // The last frame carries the final flag: a file that was closed cleanly (for a log-like file,
  // an empty final frame).
  bool closed() const { return closed_; }
  // Bytes beyond the last authentic frame were dropped (crash while writing).
  bool torn() const { return torn_; }
  // First physical byte after the last authentic frame.
  uint64_t authentic_physical_end() const { return cipher_ == nullptr ? 0 : map_.PhysicalEnd(); }

  // Reads up to n logical bytes at `offset` into `out`; *got receives the count (short only
  // at end of file). Every byte returned has been authenticated. Thread-safe.
  rocksdb::IOStatus ReadAt(uint64_t offset, size_t n, char* out, size_t* got) const;

  // Authenticates every frame after the last one holding data (empty frames: sync markers, a
  // log-like file's final frame), which ReadAt never touches. For full verification.
  rocksdb::IOStatus AuthenticateTrailingEmptyFrames() const;

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

  // Decides the logical end from the physical size (docs/format.md, "Reading").
  rocksdb::IOStatus ResolveTail(uint64_t physical_size);
  // Immutable files: fixed stride, the last frame must authenticate with final = 1.
  rocksdb::IOStatus ResolveFixed(uint64_t physical_size);
  // Format v3 immutable files: load and authenticate the frame index (frame_index.h).
  rocksdb::IOStatus ResolveIndexed(uint64_t physical_size);
  rocksdb::IOStatus IndexFailure(const std::string& what, uint64_t offset) const;
  // Log-like files: walk the frame headers and authenticate the last frame. A damaged end of
  // at most one frame is a torn tail; anything longer is an integrity error.
  rocksdb::IOStatus ResolveWalked(uint64_t physical_size);
  // Decides whether the damaged end [damaged_from, physical_size) can be a torn write; an
  // integrity error if not. walk_end/stop: where and why the header walk ended.
  rocksdb::IOStatus CheckTornTail(uint64_t damaged_from, uint64_t walk_end, WalkStop stop,
                                  uint64_t physical_size);
  // Authenticates frame i (final = 0) into `plain`; kAuthFailed/kError as FrameCipher::Open.
  FrameCipher::OpenResult TryOpen(uint64_t i, bool final_frame, PlainBytes* plain,
                                  uint32_t* sync_distance, rocksdb::IOStatus* io);

  // Reads the stored bytes of frames [first, last] into buf.
  rocksdb::IOStatus ReadFrames(uint64_t first, uint64_t last, std::vector<uint8_t>* buf) const;
  bool FrameIsFinal(uint64_t index) const {
    return closed_ && !indexed_ && index + 1 == map_.count();
  }
  // Opens frame i of the stored bytes; v3 also checks that its b field is its ordinal.
  FrameCipher::OpenResult OpenFrame(uint64_t i, const uint8_t* frame, size_t frame_len,
                                    uint8_t* plain, std::string* err) const;
  rocksdb::IOStatus AuthFailure(uint64_t index) const;
  void SetCache(uint64_t index, PlainBytes* plain);

  std::shared_ptr<const FsContext> ctx_;
  std::string path_;
  bool immutable_;
  bool indexed_ = false;  // format v3/v4 immutable file
  bool compact_ = false;  // format v4: 16-byte data frames, nonce = prefix || ordinal
  uint8_t nonce_prefix_[kNoncePrefixSize] = {};  // v4: from the authenticated frame index
  std::unique_ptr<rocksdb::FSRandomAccessFile> target_;
  HeaderSlot slot_;
  std::unique_ptr<FrameCipher> cipher_;  // null for an empty (0-byte) file
  FrameMap map_;                         // authentic frames only
  uint64_t physical_limit_ = UINT64_MAX;  // Open's physical_limit, for Refresh too
  uint64_t stable_ = 0;   // frames [0, stable_) are authenticated and can no longer change
  uint64_t vouched_ = 0;  // frames [0, vouched_) were durable when the last frame was sealed
  bool closed_ = false;
  bool torn_ = false;

  // One decrypted frame, so that consecutive reads that split a frame (RocksDB blocks are not
  // frame aligned) decrypt it once.
  mutable std::mutex cache_mu_;
  mutable uint64_t cached_index_ = UINT64_MAX;
  mutable PlainBytes cached_plain_;
};

}  // namespace ekv
