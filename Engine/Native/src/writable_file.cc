#include "writable_file.h"

#include <algorithm>
#include <cstring>

#include "errors.h"
#include "frame_index.h"
#include "frame_map.h"
#include "secure_wipe.h"

namespace ekv {

namespace {
// Wipes plaintext from a buffer, including bytes beyond size() left over from a longer
// earlier content (growing to capacity() does not reallocate).
void Cleanse(std::string* s) {
  s->resize(s->capacity());
  if (!s->empty()) SecureWipe(&(*s)[0], s->size());
  s->clear();
}
}  // namespace

void EncryptedWritableFile::NoteTailShrink() {
  if (st_.tail.size() > tail_high_water_) tail_high_water_ = st_.tail.size();
}

void EncryptedWritableFile::WipeTail() {
  // Only bytes [0, max(size, high-water mark)) can hold plaintext: the buffer never held more
  // since the last wipe (a shrink records the size it had first, see NoteTailShrink). Wiping the
  // whole capacity (up to a frame) per WAL write group was most of the engine's extra cost per
  // Put (Engine.Bench/results/PROFILE.md).
  const size_t n = std::max(st_.tail.size(), tail_high_water_);
  if (n > 0) {
    st_.tail.resize(n);  // within capacity: no reallocation, the bytes are the old ones
    SecureWipe(&st_.tail[0], n);
  }
  st_.tail.clear();
  tail_high_water_ = 0;
}

EncryptedWritableFile::EncryptedWritableFile(const rocksdb::FileOptions& options, State state)
    : rocksdb::FSWritableFile(options),
      st_(std::move(state)),
      immutable_(IsImmutableFile(st_.path)),
      logical_size_(st_.tail_start + st_.tail.size()),
      shared_size_(std::make_shared<OpenFileState>()),
      indexed_(immutable_ && IsIndexedVersion(st_.format_version)),
      compact_(indexed_ && st_.format_version == kFormatVersionCompact),
      data_overhead_(compact_ ? kCompactFrameOverhead : kFrameOverhead) {
  // A v4 writer's fixed nonce field, fresh from the CSPRNG: the nonces of this file's data frames
  // are unique as long as this writer never seals the same ordinal twice (SealIndexedFrame).
  if (compact_ && !FrameCipher::RandomNonceBytes(nonce_prefix_, sizeof(nonce_prefix_))) {
    seal_failed_ = true;
  }
  const uint32_t max_frame = indexed_ ? IndexedMaxFrame(st_.frame_size) : st_.frame_size;
  st_.tail.reserve(max_frame);
  frame_buf_.reserve(st_.frame_size);  // assembled frames never reallocate (and leave plaintext)
  st_.cipher->set_frame_size(max_frame);
  shared_size_->logical.store(logical_size_, std::memory_order_relaxed);
  PublishStableEnd();
  st_.ctx->open_sizes.Register(st_.path, shared_size_);
}

EncryptedWritableFile::~EncryptedWritableFile() {
  // Destroyed without Close: keep what was appended readable, as a plain file would. RocksDB
  // writes CURRENT and IDENTITY this way (WriteStringToFile: Append, Sync, no Close); a file
  // whose every byte was synced is complete, so it gets its final frame as at a clean Close.
  // Otherwise (an error path) the file is not marked closed.
  try {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_ && st_.target != nullptr) {
      if (!immutable_ && (synced_ || fsynced_) && !tail_dirty_ && !data_since_marker_) {
        CloseLogLike().PermitUncheckedError();
      } else {
        FlushLocked().PermitUncheckedError();
      }
      st_.target->Close(rocksdb::IOOptions(), nullptr).PermitUncheckedError();
    }
    st_.ctx->open_sizes.Unregister(st_.path, shared_size_);
  } catch (...) {
  }
  Cleanse(&st_.tail);
  Cleanse(&frame_buf_);
}

rocksdb::IOStatus EncryptedWritableFile::CheckOpen() const {
  if (closed_) return rocksdb::IOStatus::IOError(st_.path + ": file already closed");
  if (seal_failed_) {
    return rocksdb::IOStatus::IOError(st_.path + ": an earlier frame seal failed; file abandoned");
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedWritableFile::Seal(uint64_t index, bool final_frame,
                                              const uint8_t* plain, size_t n, uint8_t* out) {
  // Frames [0, durable_frames) are durable; durable_frames <= index always.
  const uint64_t distance = index - st_.durable_frames;
  const uint32_t d = distance > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(distance);
  std::string err;
  // Every call holds mu_, so the writer seals with a context of its own (no pool round trip).
  if (!st_.cipher->SealSerialized(index, final_frame, d, plain, n, out, &err)) {
    return InternalError(st_.path, "sealing frame " + std::to_string(index) + ": " + err);
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedWritableFile::Append(const rocksdb::Slice& data,
                                                const rocksdb::IOOptions& /*options*/,
                                                rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "append", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return AppendLocked(data);
  });
}

rocksdb::IOStatus EncryptedWritableFile::AppendLocked(const rocksdb::Slice& data) {
  rocksdb::IOStatus s = CheckOpen();
  if (!s.ok() || data.empty()) return s;
  if (indexed_) return AppendIndexedLocked(data);
  const size_t f = st_.frame_size;
  const size_t stride = f + kFrameOverhead;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t left = data.size();
  const size_t full_frames = (st_.tail.size() + left) / f;
  if (full_frames == 0) {
    st_.tail.append(reinterpret_cast<const char*>(p), left);
    SetLogicalSize(logical_size_ + left);
    tail_dirty_ = true;
    st_.tail_on_disk_final = false;
    return s;
  }
  // Seal every frame this append completes into one buffer and write it with one call. The
  // in-memory state only changes once the write succeeded.
  seal_buf_.resize(full_frames * stride);
  uint8_t* out = seal_buf_.data();
  uint64_t index = st_.tail_index;
  if (!st_.tail.empty()) {
    const size_t take = f - st_.tail.size();
    frame_buf_.assign(st_.tail);
    frame_buf_.append(reinterpret_cast<const char*>(p), take);
    s = Seal(index++, false, reinterpret_cast<const uint8_t*>(frame_buf_.data()), f, out);
    Cleanse(&frame_buf_);
    if (!s.ok()) return s;
    out += stride;
    p += take;
    left -= take;
  }
  while (index < st_.tail_index + full_frames) {
    s = Seal(index++, false, p, f, out);
    if (!s.ok()) return s;
    out += stride;
    p += f;
    left -= f;
  }
  s = st_.target->Write(
      TailOffset(),
      rocksdb::Slice(reinterpret_cast<const char*>(seal_buf_.data()), seal_buf_.size()),
      rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write frames");
  data_since_marker_ = true;
  st_.tail_index = index;
  st_.tail_start += full_frames * f;
  PublishStableEnd();
  NoteTailShrink();
  st_.tail.assign(reinterpret_cast<const char*>(p), left);
  SetLogicalSize(logical_size_ + data.size());
  // A remainder has never been written at its new position; an empty tail needs no frame.
  tail_dirty_ = left > 0;
  st_.tail_on_disk_final = false;
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::WriteTail(bool final_frame) {
  const size_t n = st_.tail.size();
  seal_buf_.resize(n + kFrameOverhead);
  rocksdb::IOStatus s =
      Seal(st_.tail_index, final_frame, reinterpret_cast<const uint8_t*>(st_.tail.data()), n,
           seal_buf_.data());
  if (!s.ok()) return s;
  s = st_.target->Write(
      TailOffset(),
      rocksdb::Slice(reinterpret_cast<const char*>(seal_buf_.data()), seal_buf_.size()),
      rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write tail frame");
  data_since_marker_ = true;
  tail_dirty_ = false;
  st_.tail_on_disk_final = final_frame;
  return s;
}

void EncryptedWritableFile::CloseTailFrame() {
  if (st_.tail.empty()) return;
  st_.tail_start += st_.tail.size();
  st_.tail_index++;
  PublishStableEnd();
  WipeTail();
}

rocksdb::IOStatus EncryptedWritableFile::FlushLocked() {
  rocksdb::IOStatus s = CheckOpen();
  if (!s.ok()) return s;
  if (indexed_) return FlushIndexedLocked();
  if (tail_dirty_) {
    s = WriteTail(false);
    if (!s.ok()) return s;
    if (!immutable_) CloseTailFrame();
  }
  s = st_.target->Flush(rocksdb::IOOptions(), nullptr);
  return s.ok() ? s : Annotate(s, st_.path, "flush");
}

rocksdb::IOStatus EncryptedWritableFile::Flush(const rocksdb::IOOptions& /*options*/,
                                               rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "flush", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return FlushLocked();
  });
}

rocksdb::IOStatus EncryptedWritableFile::SyncLocked(bool fsync) {
  rocksdb::IOStatus s = FlushLocked();
  if (!s.ok()) return s;
  s = fsync ? st_.target->Fsync(rocksdb::IOOptions(), nullptr)
            : st_.target->Sync(rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, fsync ? "fsync" : "sync");
  (fsync ? fsynced_ : synced_) = true;
  // A log-like tail that was on disk but not dirty (reopened, or shortened by Truncate) is
  // durable now: close it so that no later write touches synced bytes.
  if (!immutable_) CloseTailFrame();
  st_.durable_frames = st_.tail_index;
  if (!immutable_ && data_since_marker_) s = WriteSyncMarker();
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::WriteSyncMarker() {
  // An empty frame sealed with sync distance 0 vouches that every frame before it is durable.
  // Without it, the last frame of a synced log (typically the last MANIFEST edit) would be
  // the last frame of the file, and damage to it would read as a torn write: the edit would be
  // dropped silently although RocksDB had already acted on it (deleted the WAL it replaced).
  // With it, damage to any synced data frame leaves an authentic frame after it, which is an
  // integrity error; damage to the marker itself loses no data. The marker is written after the
  // sync and not synced itself: a crash may drop it, which only takes that protection away.
  uint8_t frame[kFrameOverhead];
  rocksdb::IOStatus s = Seal(st_.tail_index, false, nullptr, 0, frame);
  if (!s.ok()) return s;
  s = st_.target->Write(TailOffset(),
                        rocksdb::Slice(reinterpret_cast<const char*>(frame), sizeof(frame)),
                        rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write sync marker frame");
  st_.tail_index++;
  PublishStableEnd();
  data_since_marker_ = false;
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::Sync(const rocksdb::IOOptions& /*options*/,
                                              rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "sync", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return SyncLocked(false);
  });
}

rocksdb::IOStatus EncryptedWritableFile::Fsync(const rocksdb::IOOptions& /*options*/,
                                               rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "fsync", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return SyncLocked(true);
  });
}

rocksdb::IOStatus EncryptedWritableFile::RangeSync(uint64_t /*offset*/, uint64_t /*nbytes*/,
                                                   const rocksdb::IOOptions& /*options*/,
                                                   rocksdb::IODebugContext* /*dbg*/) {
  // RocksDB issues RangeSync for bytes_per_sync / wal_bytes_per_sync to smooth write-back and
  // never relies on it for durability. Treating it as Sync would seal a short frame each time.
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedWritableFile::Close(const rocksdb::IOOptions& /*options*/,
                                               rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "close", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s;
    if (indexed_) {
      s = WriteFrameIndex();
      if (s.ok() && (synced_ || fsynced_)) {
        s = fsynced_ ? st_.target->Fsync(rocksdb::IOOptions(), nullptr)
                     : st_.target->Sync(rocksdb::IOOptions(), nullptr);
        if (!s.ok()) s = Annotate(s, st_.path, "sync frame index");
      }
    } else if (immutable_) {
      if (!st_.tail_on_disk_final || tail_dirty_) s = WriteTail(true);
      // RocksDB syncs an SST and then closes it, and from then on relies on it being durable.
      // The final frame is written here, after that sync, so sync again if the owner ever
      // asked for durability; otherwise a crash could leave a "truncated" closed file.
      if (s.ok() && (synced_ || fsynced_)) {
        s = fsynced_ ? st_.target->Fsync(rocksdb::IOOptions(), nullptr)
                     : st_.target->Sync(rocksdb::IOOptions(), nullptr);
        if (!s.ok()) s = Annotate(s, st_.path, "sync final frame");
      }
    } else {
      s = CloseLogLike();
    }
    rocksdb::IOStatus c = st_.target->Close(rocksdb::IOOptions(), nullptr);
    closed_ = true;
    Cleanse(&st_.tail);
    st_.ctx->open_sizes.Unregister(st_.path, shared_size_);
    if (s.ok() && !c.ok()) s = Annotate(c, st_.path, "close");
    return s;
  });
}

rocksdb::IOStatus EncryptedWritableFile::CloseLogLike() {
  // The bytes since the last Flush as a frame of their own (final = 0), then an empty frame with
  // final = 1: a reader can tell a cleanly closed file from one cut at a frame boundary, and the
  // engine's live-log record demands it for the files it lists (docs/format.md, "Writing"). The
  // final frame is always empty so that data frames never change meaning, and a reader only has
  // to try final = 1 on an empty last frame.
  rocksdb::IOStatus s;
  if (tail_dirty_) {
    s = WriteTail(false);
    if (!s.ok()) return s;
  }
  CloseTailFrame();
  uint8_t frame[kFrameOverhead];
  s = Seal(st_.tail_index, true, nullptr, 0, frame);
  if (!s.ok()) return s;
  s = st_.target->Write(TailOffset(),
                        rocksdb::Slice(reinterpret_cast<const char*>(frame), sizeof(frame)),
                        rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write final frame");
  st_.tail_index++;
  PublishStableEnd();
  // Close promises no sync (as a plain file's close), except that a file whose owner asked for
  // durability (a MANIFEST, a synced WAL) must not lose its final frame to a power failure after
  // a clean close: the engine's closed record would then report the file as cut.
  if (synced_ || fsynced_) {
    s = fsynced_ ? st_.target->Fsync(rocksdb::IOOptions(), nullptr)
                 : st_.target->Sync(rocksdb::IOOptions(), nullptr);
    if (!s.ok()) return Annotate(s, st_.path, "sync final frame");
  }
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::Truncate(uint64_t size,
                                                  const rocksdb::IOOptions& /*options*/,
                                                  rocksdb::IODebugContext* /*dbg*/) {
  return Guarded(st_.path, "truncate", [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return TruncateLocked(size);
  });
}

rocksdb::IOStatus EncryptedWritableFile::LoadTailFrom(const FrameMap& map, uint64_t index,
                                                      size_t keep) {
  const uint64_t start = map.Start(index);
  rocksdb::IOStatus s;
  const size_t len = static_cast<size_t>(map.Bytes(index)) + kFrameOverhead;
  std::vector<uint8_t> stored(len);
  rocksdb::Slice got;
  s = st_.target->Read(map.Physical(index), len, rocksdb::IOOptions(), &got,
                       reinterpret_cast<char*>(stored.data()), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "read frame for truncate");
  if (got.size() != len) return InternalError(st_.path, "short read in truncate");
  if (got.data() != reinterpret_cast<char*>(stored.data())) {
    std::memcpy(stored.data(), got.data(), got.size());
  }
  std::string plain(len - kFrameOverhead, '\0');
  std::string err;
  auto r = st_.cipher->Open(index, false, stored.data(), stored.size(),
                            reinterpret_cast<uint8_t*>(&plain[0]), &err);
  if (r == FrameCipher::OpenResult::kAuthFailed) {
    st_.ctx->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    Cleanse(&plain);
    return IntegrityError(st_.path,
                          "authentication failed for frame " + std::to_string(index) +
                              " (file offset " + std::to_string(map.Physical(index)) + ")",
                          map.Physical(index));
  }
  if (r != FrameCipher::OpenResult::kOk) return InternalError(st_.path, err);
  plain.resize(keep);
  Cleanse(&st_.tail);
  st_.tail.swap(plain);
  st_.tail_index = index;
  st_.tail_start = start;
  PublishStableEnd();
  if (st_.durable_frames > index) st_.durable_frames = index;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedWritableFile::TruncateLocked(uint64_t size) {
  rocksdb::IOStatus s = CheckOpen();
  if (!s.ok() || size == logical_size_) return s;
  if (size > logical_size_) {
    return rocksdb::IOStatus::NotSupported(st_.path + ": extending a file with Truncate");
  }
  if (indexed_) {
    // Sealed frames are final in a v3 file; only the open frame can shrink.
    if (size < st_.tail_start) {
      return rocksdb::IOStatus::NotSupported(
          st_.path + ": truncating a format v3 SST/blob file into a sealed frame");
    }
    NoteTailShrink();
    st_.tail.resize(static_cast<size_t>(size - st_.tail_start));
    SetLogicalSize(size);
    return s;
  }
  if (size >= st_.tail_start) {
    NoteTailShrink();
    st_.tail.resize(static_cast<size_t>(size - st_.tail_start));
  } else {
    // The new end lies in a frame that is only on disk: find it (walk the headers), read it
    // back, authenticate it and make its prefix the new tail. This rewrites a frame that may
    // have been synced: a crash during Truncate can lose that frame (docs/format.md).
    FrameMap map(st_.frame_size);
    RawReader read = [this](uint64_t off, size_t n, char* buf, rocksdb::Slice* got) {
      return st_.target->Read(off, n, rocksdb::IOOptions(), got, buf, nullptr);
    };
    s = WalkFrames(read, st_.cipher->file_id(), TailOffset(), &map);
    if (!s.ok()) return Annotate(s, st_.path, "walk frames for truncate");
    if (map.count() != st_.tail_index || map.logical_size() != st_.tail_start) {
      return InternalError(st_.path, "frames on disk do not match the writer's view (truncate)");
    }
    const uint64_t j = map.Find(size);
    s = LoadTailFrom(map, j, static_cast<size_t>(size - map.Start(j)));
    if (!s.ok()) return s;
  }
  SetLogicalSize(size);
  // Rewrite the shortened tail, then cut the file right after it.
  uint64_t physical_end = TailOffset();
  if (!st_.tail.empty()) {
    s = WriteTail(false);
    if (!s.ok()) return s;
    physical_end += st_.tail.size() + kFrameOverhead;
  } else {
    tail_dirty_ = false;
    st_.tail_on_disk_final = false;
  }
  if (st_.durable_frames > st_.tail_index) st_.durable_frames = st_.tail_index;
  return TruncatePhysical(st_.ctx->base.get(), st_.path, physical_end);
}

// ---- Format v3 immutable files (docs/format.md, "Format v3") ----

rocksdb::IOStatus EncryptedWritableFile::SealIndexedFrame(const uint8_t* plain, size_t n) {
  if (seal_failed_) return CheckOpen();  // never seal an ordinal whose seal may have failed
  if (st_.tail_index >= UINT32_MAX / 2) {
    return InternalError(st_.path, "too many frames for a format v3/v4 file");
  }
  const size_t at = pending_io_.size();
  const size_t need = at + n + data_overhead_;
  if (need > pending_io_.capacity()) {
    // Doubling would overshoot: the batch is written once it reaches kIndexedWriteBatch, so it
    // never holds more than that plus one frame (the frame index aside).
    const size_t cap = kIndexedWriteBatch + IndexedMaxFrame(st_.frame_size) + kFrameOverhead;
    pending_io_.reserve(std::max(need, std::min(2 * pending_io_.capacity(), cap)));
  }
  pending_io_.resize(need);
  std::string err;
  bool sealed;
  // Position field = logical start, b = ordinal (frame_index.h).
  const uint32_t ordinal = static_cast<uint32_t>(st_.tail_index);
  if (compact_) {
    // The nonce is prefix || ordinal; ordinals only grow (tail_index advances after every seal,
    // and a failed seal abandons the writer), so no nonce repeats under this file's DEK.
    uint8_t nonce[kNonceSize];
    CompactFrameNonce(nonce_prefix_, ordinal, nonce);
    sealed = st_.cipher->SealCompact(nonce, st_.tail_start, ordinal, plain, n,
                                     pending_io_.data() + at, &err);
    if (!sealed) seal_failed_ = true;
  } else {
    sealed = st_.cipher->Seal(st_.tail_start, false, ordinal, plain, n, pending_io_.data() + at,
                              &err);
  }
  if (!sealed) {
    pending_io_.resize(at);
    return InternalError(st_.path, "sealing frame " + std::to_string(st_.tail_index) + ": " + err);
  }
  frame_lengths_.push_back(static_cast<uint32_t>(n));
  st_.tail_index++;
  st_.tail_start += n;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus EncryptedWritableFile::CloseIndexedFrame() {
  if (st_.tail.empty()) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s =
      SealIndexedFrame(reinterpret_cast<const uint8_t*>(st_.tail.data()), st_.tail.size());
  // Wipes the bytes the frame held (max of size and high-water mark), not the buffer's whole
  // capacity (8F): per ~4.5 KiB frame that was 2 passes over 32 KiB, 48,700 Ir against 15,200 for
  // sealing it (Engine.Bench/results/PROFILE.md, "Table writes"). The tail never outgrows its
  // reserved capacity (AppendIndexedLocked closes the frame first), so it never reallocates.
  if (s.ok()) WipeTail();
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::WritePendingFrames() {
  if (pending_io_.empty()) return rocksdb::IOStatus::OK();
  const uint64_t at = TailOffset() - pending_io_.size();
  rocksdb::IOStatus s = st_.target->Write(
      at, rocksdb::Slice(reinterpret_cast<const char*>(pending_io_.data()), pending_io_.size()),
      rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write frames");
  pending_io_.clear();
  PublishStableEnd();
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::AppendIndexedLocked(const rocksdb::Slice& data) {
  // One RocksDB block (or its 5-byte trailer) per append when RocksDB's own write buffer is off
  // (EncryptedFileSystem::OptimizeForCompactionTableWrite): frames then hold whole blocks, and a
  // block read opens one frame.
  const uint32_t f = st_.frame_size;
  const size_t max_frame = IndexedMaxFrame(f);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t left = data.size();
  rocksdb::IOStatus s;
  if (left > IndexedWholeAppend(f)) {
    // Not one block (RocksDB's write buffer, or a huge block): cut at F like format v2.
    s = CloseIndexedFrame();
    if (!s.ok()) return s;
    while (left >= f) {
      s = SealIndexedFrame(p, f);
      if (!s.ok()) return s;
      p += f;
      left -= f;
      // A huge append (a blob, SstFileWriter's 1 MiB buffer) is written in batches too.
      if (pending_io_.size() >= kIndexedWriteBatch) {
        s = WritePendingFrames();
        if (!s.ok()) return s;
      }
    }
  } else if (!st_.tail.empty() &&
             ((st_.tail.size() >= IndexedMinFrame(st_.format_version, f) && left > kTinyAppend) ||
              st_.tail.size() + left > max_frame)) {
    s = CloseIndexedFrame();
    if (!s.ok()) return s;
  }
  st_.tail.append(reinterpret_cast<const char*>(p), left);
  SetLogicalSize(logical_size_ + data.size());
  if (pending_io_.size() >= kIndexedWriteBatch) s = WritePendingFrames();
  return s;
}

rocksdb::IOStatus EncryptedWritableFile::FlushIndexedLocked() {
  // Flush closes the open frame: RocksDB flushes an SST only to sync or close it.
  rocksdb::IOStatus s = CloseIndexedFrame();
  if (s.ok()) s = WritePendingFrames();
  if (!s.ok()) return s;
  s = st_.target->Flush(rocksdb::IOOptions(), nullptr);
  return s.ok() ? s : Annotate(s, st_.path, "flush");
}

rocksdb::IOStatus EncryptedWritableFile::WriteFrameIndex() {
  rocksdb::IOStatus s = CloseIndexedFrame();
  if (!s.ok()) return s;
  const uint32_t f = st_.frame_size;
  const uint64_t k = frame_lengths_.size();
  const uint64_t stream = IndexStreamBytes(st_.format_version, k);
  const uint64_t m = IndexFrameCount(stream, f);
  // v3: n(0..k-1), encrypted; v4: the nonce prefix, then n(0..k-1), in clear and authenticated.
  std::vector<uint8_t> entries(stream);
  uint8_t* e = entries.data();
  if (compact_) {
    std::memcpy(e, nonce_prefix_, kNoncePrefixSize);
    e += kNoncePrefixSize;
  }
  for (uint64_t i = 0; i < k; ++i) PutIndexEntry(e + 4 * i, frame_lengths_[i]);
  const FrameCipher::Payload payload =
      compact_ ? FrameCipher::Payload::kClear : FrameCipher::Payload::kEncrypted;
  const uint64_t region = IndexRegionSize(stream, f);
  const size_t at = pending_io_.size();
  pending_io_.resize(at + region + kIndexTrailerSize);
  uint8_t* out = pending_io_.data() + at;
  const uint8_t* in = entries.data();
  std::string err;
  for (uint64_t j = 0; j < m; ++j) {
    const size_t n = static_cast<size_t>(IndexFrameBytes(stream, f, j));
    if (!st_.cipher->Seal(st_.tail_start, j + 1 == m, static_cast<uint32_t>(k + j), in, n, out,
                          &err, payload)) {
      pending_io_.resize(at);
      return InternalError(st_.path, "sealing the frame index: " + err);
    }
    in += n;
    out += n + kFrameOverhead;
  }
  EncodeIndexTrailer(st_.format_version, st_.tail_start, static_cast<uint32_t>(k), out);
  // The index and trailer sit after the last data frame; TailOffset() stays there (Close).
  const uint64_t data_end = TailOffset();
  s = st_.target->Write(
      data_end - (pending_io_.size() - (region + kIndexTrailerSize)),
      rocksdb::Slice(reinterpret_cast<const char*>(pending_io_.data()), pending_io_.size()),
      rocksdb::IOOptions(), nullptr);
  if (!s.ok()) return Annotate(s, st_.path, "write frame index");
  pending_io_.clear();
  return s;
}

uint64_t EncryptedWritableFile::GetFileSize(const rocksdb::IOOptions& /*options*/,
                                            rocksdb::IODebugContext* /*dbg*/) {
  return shared_size_->logical.load(std::memory_order_relaxed);
}

}  // namespace ekv
