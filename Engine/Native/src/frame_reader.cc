#include "frame_reader.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "errors.h"

namespace ekv {

namespace {

// Per-thread scratch for stored frames and for frames that are only partly requested. Grows to
// the largest read a thread has done (compaction readahead: a few MiB).
std::vector<uint8_t>& StoredScratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}
std::vector<uint8_t>& PlainScratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}

}  // namespace

FrameReader::FrameReader(std::shared_ptr<const FsContext> ctx, std::string path)
    : ctx_(std::move(ctx)), path_(std::move(path)), requires_final_(RequiresFinalFrame(path_)) {}

FrameReader::~FrameReader() {
  if (!cached_plain_.empty()) OPENSSL_cleanse(cached_plain_.data(), cached_plain_.size());
}

rocksdb::IOStatus FrameReader::Open(std::shared_ptr<const FsContext> ctx, const std::string& path,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<FrameReader>* out) {
  std::unique_ptr<FrameReader> r(new FrameReader(ctx, path));
  // Open before stat so a missing file fails exactly as it would in plain RocksDB.
  rocksdb::IOStatus s =
      ctx->base->NewRandomAccessFile(path, BaseFileOptions(options), &r->target_, nullptr);
  if (!s.ok()) return Annotate(s, path, "open for reading");
  uint64_t physical = 0;
  s = ctx->base->GetFileSize(path, rocksdb::IOOptions(), &physical, nullptr);
  if (!s.ok()) return Annotate(s, path, "get physical size");
  s = r->LoadHeader(physical);
  if (!s.ok()) return s;
  if (r->cipher_ != nullptr) {
    s = r->ResolveTail(physical);
    if (!s.ok()) return s;
  }
  *out = std::move(r);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::LoadHeader(uint64_t physical_size) {
  if (physical_size == 0) {
    // A 0-byte file has no header: the process died between creating it and writing the
    // header, or RocksDB created it through LockFile. It reads as empty, except where a
    // closed file is required.
    if (requires_final_) return IntegrityError(path_, "file is empty (truncated: no header)");
    return rocksdb::IOStatus::OK();
  }
  if (physical_size < kHeaderRegionSize) {
    return IntegrityError(
        path_, "header truncated (" + std::to_string(physical_size) + " of 1024 bytes present)");
  }
  uint8_t region[kHeaderRegionSize];
  rocksdb::Slice got;
  rocksdb::IOStatus s = target_->Read(0, kHeaderRegionSize, rocksdb::IOOptions(), &got,
                                      reinterpret_cast<char*>(region), nullptr);
  if (!s.ok()) return Annotate(s, path_, "read header");
  if (got.size() != kHeaderRegionSize) {
    return IntegrityError(path_, "header truncated (short read)");
  }
  if (got.data() != reinterpret_cast<char*>(region)) std::memcpy(region, got.data(), got.size());
  s = DecodeHeaderRegion(path_, region, sizeof(region), &slot_);
  if (!s.ok()) {
    ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  SecretKey dek;
  s = ctx_->keys.OpenFileKey(path_, slot_, &dek);
  if (!s.ok()) {
    if (s.IsCorruption()) ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  cipher_.reset(new FrameCipher(dek, slot_.file_id, ctx_->stats));
  ctx_->stats->files_opened.fetch_add(1, std::memory_order_relaxed);
  return rocksdb::IOStatus::OK();
}

uint64_t FrameReader::authentic_physical_end() const {
  if (cipher_ == nullptr) return 0;
  if (frame_count_ == 0) return kHeaderRegionSize;
  return FrameOffset(frame_count_ - 1, slot_.frame_size) + last_frame_bytes_ + kFrameOverhead;
}

rocksdb::IOStatus FrameReader::AuthFailure(uint64_t index) const {
  ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
  return IntegrityError(path_, "authentication failed for frame " + std::to_string(index) +
                                   " (file offset " +
                                   std::to_string(FrameOffset(index, slot_.frame_size)) + ")");
}

rocksdb::IOStatus FrameReader::ResolveTail(uint64_t physical_size) {
  const uint32_t f = slot_.frame_size;
  const FrameLayout l = LayoutFromPhysical(physical_size, f);
  frame_count_ = 0;
  last_frame_bytes_ = 0;
  logical_size_ = 0;
  last_final_ = false;
  torn_ = l.torn;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    cached_index_ = UINT64_MAX;
  }
  if (l.frame_count == 0) {
    if (requires_final_) {
      return IntegrityError(path_, "file has no frames (truncated: missing final frame)");
    }
    if (torn_) ctx_->stats->torn_tails.fetch_add(1, std::memory_order_relaxed);
    return rocksdb::IOStatus::OK();
  }
  const uint64_t last = l.frame_count - 1;
  frame_count_ = l.frame_count;
  last_frame_bytes_ = l.last_frame_bytes;
  std::vector<uint8_t> stored;
  rocksdb::IOStatus s = ReadFrames(last, last, &stored);
  if (!s.ok()) return s;
  std::vector<uint8_t> plain(l.last_frame_bytes);
  std::string err;
  FrameCipher::OpenResult r =
      cipher_->Open(last, true, stored.data(), stored.size(), plain.data(), &err);
  if (r == FrameCipher::OpenResult::kOk) {
    last_final_ = true;
    if (torn_ && requires_final_) {
      return IntegrityError(path_, "unexpected bytes after the final frame");
    }
  } else if (r == FrameCipher::OpenResult::kAuthFailed) {
    r = cipher_->Open(last, false, stored.data(), stored.size(), plain.data(), &err);
    if (r == FrameCipher::OpenResult::kOk && requires_final_) {
      ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
      return IntegrityError(
          path_, "missing final frame after frame " + std::to_string(last) + " (file truncated)");
    }
  }
  if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
  if (r == FrameCipher::OpenResult::kAuthFailed) {
    if (requires_final_) return AuthFailure(last);
    // Torn tail: a crash while this frame was (re)written. The file ends before it.
    torn_ = true;
    frame_count_ = last;
    last_frame_bytes_ = last > 0 ? f : 0;
    logical_size_ = last * f;
  } else {
    logical_size_ = last * f + l.last_frame_bytes;
    std::lock_guard<std::mutex> lock(cache_mu_);
    cached_plain_.swap(plain);
    cached_index_ = last;
  }
  if (torn_) ctx_->stats->torn_tails.fetch_add(1, std::memory_order_relaxed);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::ReadFrames(uint64_t first, uint64_t last,
                                          std::vector<uint8_t>* buf) const {
  const uint64_t stride = uint64_t{slot_.frame_size} + kFrameOverhead;
  const uint64_t start = FrameOffset(first, slot_.frame_size);
  const size_t len =
      static_cast<size_t>((last - first) * stride + FramePlainBytes(last) + kFrameOverhead);
  buf->resize(len);
  rocksdb::Slice got;
  rocksdb::IOStatus s = target_->Read(start, len, rocksdb::IOOptions(), &got,
                                      reinterpret_cast<char*>(buf->data()), nullptr);
  if (!s.ok()) return Annotate(s, path_, "read frames");
  if (got.size() != len) {
    return rocksdb::IOStatus::IOError(path_ + ": short read of frames " + std::to_string(first) +
                                      ".." + std::to_string(last) + " (file shrank?)");
  }
  if (got.data() != reinterpret_cast<char*>(buf->data())) {
    std::memcpy(buf->data(), got.data(), len);
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::ReadAt(uint64_t offset, size_t n, char* out, size_t* got) const {
  *got = 0;
  if (offset >= logical_size_ || n == 0) return rocksdb::IOStatus::OK();
  n = static_cast<size_t>(std::min<uint64_t>(n, logical_size_ - offset));
  const uint32_t f = slot_.frame_size;
  const uint64_t first = offset / f;
  const uint64_t last = (offset + n - 1) / f;

  // Fast path: the whole request lies in the cached frame (sequential small reads).
  if (first == last) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cached_index_ == first) {
      std::memcpy(out, cached_plain_.data() + (offset - first * f), n);
      *got = n;
      return rocksdb::IOStatus::OK();
    }
  }

  std::vector<uint8_t>& stored = StoredScratch();
  rocksdb::IOStatus s = ReadFrames(first, last, &stored);
  if (!s.ok()) return s;
  std::vector<uint8_t>& plain = PlainScratch();
  const uint64_t stride = uint64_t{f} + kFrameOverhead;
  size_t written = 0;
  std::string err;
  for (uint64_t i = first; i <= last; ++i) {
    const size_t bytes = FramePlainBytes(i);
    const uint64_t frame_start = i * f;
    const size_t from = static_cast<size_t>(std::max(offset, frame_start) - frame_start);
    const size_t to = static_cast<size_t>(std::min(offset + n, frame_start + bytes) - frame_start);
    const uint8_t* frame = stored.data() + (i - first) * stride;
    const size_t frame_len = bytes + kFrameOverhead;
    if (from == 0 && to == bytes) {
      FrameCipher::OpenResult r = cipher_->Open(i, FrameIsFinal(i), frame, frame_len,
                                                reinterpret_cast<uint8_t*>(out + written), &err);
      if (r == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(i);
      if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
    } else {
      std::unique_lock<std::mutex> lock(cache_mu_);
      if (cached_index_ == i) {
        std::memcpy(out + written, cached_plain_.data() + from, to - from);
      } else {
        lock.unlock();
        plain.resize(f);
        FrameCipher::OpenResult r =
            cipher_->Open(i, FrameIsFinal(i), frame, frame_len, plain.data(), &err);
        if (r == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(i);
        if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
        std::memcpy(out + written, plain.data() + from, to - from);
        lock.lock();
        cached_plain_.assign(plain.begin(), plain.begin() + bytes);
        cached_index_ = i;
      }
    }
    written += to - from;
  }
  *got = written;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::Refresh() {
  uint64_t physical = 0;
  rocksdb::IOStatus s = ctx_->base->GetFileSize(path_, rocksdb::IOOptions(), &physical, nullptr);
  // The file may have been renamed or deleted while open (our handle still reads it, as a POSIX
  // descriptor would): keep the view we have.
  if (!s.ok()) return rocksdb::IOStatus::OK();
  if (cipher_ == nullptr) {
    if (physical == 0) return rocksdb::IOStatus::OK();
    s = LoadHeader(physical);
    if (!s.ok() || cipher_ == nullptr) return s;
  } else if (physical == authentic_physical_end() && !torn_) {
    return rocksdb::IOStatus::OK();
  }
  return ResolveTail(physical);
}

}  // namespace ekv
