// RocksDB's writable file over the encrypted frame format.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "frame_cipher.h"
#include "frame_index.h"
#include "frame_map.h"
#include "fs_context.h"
#include "memory_gauge.h"

namespace ekv {

// An allocator whose resize() leaves new bytes uninitialized: for ciphertext buffers that are
// written over right away (zero-filling a sealed frame's space first cost ~1 Ir per byte).
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Sealed frames of a format v3 file are written to the base file once this many are waiting (and
// on Flush, Sync and Close). Not RocksDB's 1 MiB: measured in CPU seconds (batch fill with
// background flushes and compactions, Engine.Bench/results/PROFILE.md, "Table writes"), 1 MiB
// cost 3% more than 256 KiB, which stays in a core's L2 (1 MiB here) until the write copies it.
constexpr size_t kIndexedWriteBatch = size_t{256} << 10;

// Appends plaintext, buffering the partial tail frame in memory. Full frames are sealed and
// written at once. Flush writes the partial tail frame, so an acknowledged write survives a
// process kill as in plain RocksDB. For a log-like file (WAL, MANIFEST, LOG) Flush then closes
// that frame: the bytes appended since the last Flush become one short frame that is never
// rewritten, and later data starts a new frame. RocksDB flushes the WAL after every write
// group, so re-sealing and rewriting a growing tail on each Flush cost a seal and a pwrite of
// up to a whole frame per Put; a short frame costs only the record plus 40 bytes. As a
// consequence a synced frame is never rewritten either (a torn write can only hit bytes that
// were never synced), and after each Sync an empty marker frame vouches for the synced frames
// (WriteSyncMarker). Immutable files (SST, blob) keep a fixed stride: their tail frame is
// rewritten in place on Flush and stays open until Close writes it with the final flag and
// syncs again. A log-like file's Close appends an empty frame with the final flag (synced if
// the file ever was). See docs/format.md, "Writing".
//
// All I/O goes through the base file system's FSRandomRWFile, because rewriting the tail frame
// needs positional writes, which PosixWritableFile cannot do (its fd offset only moves
// forward). The header was written when the file was created (EncryptedFileSystem).
class EncryptedWritableFile : public rocksdb::FSWritableFile {
 public:
  struct State {
    std::string path;
    std::shared_ptr<const FsContext> ctx;
    std::unique_ptr<rocksdb::FSRandomRWFile> target;
    std::unique_ptr<FrameCipher> cipher;
    uint32_t frame_size = kDefaultFrameSize;
    uint64_t tail_index = 0;          // index of the frame the next byte goes into
    uint64_t tail_start = 0;          // its logical start
    std::string tail;                 // its plaintext so far (reopen: read back from disk)
    bool tail_on_disk_final = false;  // disk already holds `tail` sealed with final=1
    uint64_t durable_frames = 0;      // frames [0, durable_frames) are known to be durable
    uint16_t format_version = kFormatVersionFixed;  // of the header (3: indexed immutable file)
  };

  EncryptedWritableFile(const rocksdb::FileOptions& options, State state);
  ~EncryptedWritableFile() override;

  using rocksdb::FSWritableFile::Append;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  // A hint (bytes_per_sync): does not close the tail frame and promises nothing; returns OK.
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  uint64_t GetFileSize(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  bool use_direct_io() const override { return false; }
  bool IsSyncThreadSafe() const override { return true; }  // every call takes mu_
  rocksdb::IOStatus InvalidateCache(size_t, size_t) override { return rocksdb::IOStatus::OK(); }

 private:
  rocksdb::IOStatus AppendLocked(const rocksdb::Slice& data);
  rocksdb::IOStatus FlushLocked();
  // Log-like files: the tail frame is on disk; later bytes start a new frame.
  void CloseTailFrame();
  // Log-like files, after a sync: appends an empty frame vouching for the frames before it.
  rocksdb::IOStatus WriteSyncMarker();
  rocksdb::IOStatus SyncLocked(bool fsync);
  // Log-like files at Close: writes a dirty tail, then an empty frame with the final flag.
  rocksdb::IOStatus CloseLogLike();
  rocksdb::IOStatus TruncateLocked(uint64_t size);
  // Moves the tail to frame `index` of `map` (frames on disk), keeping its first `keep` bytes
  // read back and authenticated; used by Truncate into a frame that is already written.
  rocksdb::IOStatus LoadTailFrom(const FrameMap& map, uint64_t index, size_t keep);
  // Seals the tail frame and writes it in place at its frame offset.
  rocksdb::IOStatus WriteTail(bool final_frame);
  rocksdb::IOStatus Seal(uint64_t index, bool final_frame, const uint8_t* plain, size_t n,
                         uint8_t* out);
  uint64_t TailOffset() const {
    return kHeaderRegionSize + st_.tail_index * data_overhead_ + st_.tail_start;
  }
  void SetLogicalSize(uint64_t v) {
    logical_size_ = v;
    shared_size_->logical.store(v, std::memory_order_relaxed);
  }
  // Call whenever the tail frame moves (OpenFileState::stable_end).
  void PublishStableEnd() {
    shared_size_->stable_end.store(TailOffset(), std::memory_order_release);
  }
  // Not closed, and (v4) no seal has failed: a failed seal may have used its nonce, so the
  // writer never seals with that ordinal again (the file is abandoned, as RocksDB does with a
  // table whose write failed).
  rocksdb::IOStatus CheckOpen() const;
  // Call before anything shortens st_.tail in place (the bytes past the new size keep their
  // plaintext): WipeTail then covers them.
  void NoteTailShrink();
  // Wipes what the tail buffer held since the last wipe and empties it.
  void WipeTail();

  // Format v3 immutable files (frame_index.h): a frame per RocksDB append, an authenticated frame
  // index at Close. The open frame is st_.tail (tail_index: its ordinal, tail_start: its logical
  // start); sealed frames wait in pending_io_ and are written in batches.
  rocksdb::IOStatus AppendIndexedLocked(const rocksdb::Slice& data);
  // Seals the open frame (if any) into pending_io_.
  rocksdb::IOStatus CloseIndexedFrame();
  rocksdb::IOStatus SealIndexedFrame(const uint8_t* plain, size_t n);
  // Writes pending_io_ at its physical position.
  rocksdb::IOStatus WritePendingFrames();
  rocksdb::IOStatus FlushIndexedLocked();
  // Seals the frame index and the trailer after the last frame and writes them.
  rocksdb::IOStatus WriteFrameIndex();

  std::mutex mu_;
  State st_;
  const bool immutable_;
  uint64_t logical_size_;
  // Published for EncryptedFileSystem::GetFileSize while the file is open (OpenFileSizes).
  OpenFileSizes::Size shared_size_;
  bool tail_dirty_ = false;  // tail changed since it was last written
  bool synced_ = false;      // the owner has asked for durability (Sync)
  bool fsynced_ = false;     // ... with metadata (Fsync)
  bool closed_ = false;
  bool data_since_marker_ = false;  // a data frame was written after the last sync marker
  size_t tail_high_water_ = 0;      // largest st_.tail.size() before a shrink since the last wipe
  std::vector<uint8_t> seal_buf_;   // sealed frames waiting to be written
  std::string frame_buf_;           // plaintext of a frame assembled from tail + new data
  // Format v3/v4 (after st_ and immutable_, which initialize them).
  const bool indexed_;
  const bool compact_;          // v4: 16-byte data frames, nonce = prefix || ordinal
  const size_t data_overhead_;  // stored bytes per data frame besides its plaintext
  uint8_t nonce_prefix_[kNoncePrefixSize] = {};  // v4: this writer's fixed nonce field
  bool seal_failed_ = false;                     // v4: see CheckOpen
  // Lengths of the sealed v3 frames: the frame index written at Close.
  std::vector<uint32_t, GaugedAllocator<uint32_t, GaugeKind::kFrameIndex>> frame_lengths_;
  // Sealed v3 frames not yet written, ending at TailOffset(): ciphertext only, no wipe needed.
  std::vector<uint8_t, UninitAllocator<uint8_t>> pending_io_;
};

}  // namespace ekv
