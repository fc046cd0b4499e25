#include "frame_reader.h"

#include <algorithm>
#include <cstring>

#include "errors.h"
#include "frame_index.h"
#include "secure_wipe.h"

namespace ekv {

namespace {

// Per-thread scratch for stored frames and for frames that are only partly requested. Grows to
// the largest read a thread has done (compaction readahead: a few MiB).
std::vector<uint8_t>& StoredScratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}
// Decrypted partial frames: wiped after every read (WipeAfterRead) and when the thread exits.
PlainBytes& PlainScratch() {
  thread_local PlainBytes buf;
  return buf;
}

struct WipeAfterRead {
  PlainBytes& buf;
  ~WipeAfterRead() {
    if (buf.empty()) return;
    SecureWipe(buf.data(), buf.size());
    // Emptied (the capacity stays): otherwise every later read of the thread, including the
    // whole-frame reads that never use the scratch, wiped these zeros again (callgrind: 5,506
    // wipes of ~2-4 KiB for 5,714 block reads, PROFILE.md "Format v4").
    buf.clear();
  }
};

}  // namespace

FrameReader::FrameReader(std::shared_ptr<const FsContext> ctx, std::string path)
    : ctx_(std::move(ctx)), path_(std::move(path)), immutable_(IsImmutableFile(path_)) {}

FrameReader::~FrameReader() {
  if (!cached_plain_.empty()) SecureWipe(cached_plain_.data(), cached_plain_.size());
}

rocksdb::IOStatus FrameReader::Open(std::shared_ptr<const FsContext> ctx, const std::string& path,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<FrameReader>* out, uint64_t physical_limit) {
  std::unique_ptr<FrameReader> r(new FrameReader(ctx, path));
  // Open before stat so a missing file fails exactly as it would in plain RocksDB.
  rocksdb::IOStatus s =
      ctx->base->NewRandomAccessFile(path, BaseFileOptions(options), &r->target_, nullptr);
  if (!s.ok()) return Annotate(s, path, "open for reading");
  uint64_t physical = 0;
  s = ctx->base->GetFileSize(path, rocksdb::IOOptions(), &physical, nullptr);
  if (!s.ok()) return Annotate(s, path, "get physical size");
  r->physical_limit_ = physical_limit;
  if (physical > physical_limit) physical = physical_limit;
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
    if (immutable_) return IntegrityError(path_, "file is empty (truncated: no header)");
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
  if (IsIndexedVersion(slot_.format_version) && !immutable_) {
    // Only SST and blob files are written in v3/v4: such a file under another name was renamed.
    ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return IntegrityError(path_, "format v" + std::to_string(slot_.format_version) +
                                     " header on a file that is not an SST or blob file");
  }
  SecretKey dek;
  s = ctx_->keys.OpenFileKey(path_, slot_, &dek);
  if (!s.ok()) {
    if (s.IsCorruption()) ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  cipher_.reset(new FrameCipher(dek, slot_.file_id, ctx_->stats));
  indexed_ = immutable_ && IsIndexedVersion(slot_.format_version);
  compact_ = indexed_ && slot_.format_version == kFormatVersionCompact;
  cipher_->set_frame_size(indexed_ ? IndexedMaxFrame(slot_.frame_size) : slot_.frame_size);
  map_ = FrameMap(slot_.frame_size,
                  static_cast<uint32_t>(DataFrameOverhead(indexed_ ? slot_.format_version
                                                                   : kFormatVersionFixed)));
  ctx_->stats->files_opened.fetch_add(1, std::memory_order_relaxed);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::AuthFailure(uint64_t index) const {
  ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
  const uint64_t offset = index < map_.count() ? map_.Physical(index) : 0;
  std::string what = "authentication failed for frame " + std::to_string(index) + " (file offset " +
                     std::to_string(offset) + ")";
  // The last frame's sync distance tells whether this frame had been synced: if not, a power
  // failure (the page cache writes back in any order) can also have garbled it.
  if (!immutable_ && index >= vouched_) what += "; it was written after the last sync";
  return IntegrityError(path_, what, offset);
}

void FrameReader::SetCache(uint64_t index, PlainBytes* plain) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (!cached_plain_.empty()) SecureWipe(cached_plain_.data(), cached_plain_.size());
  cached_plain_.swap(*plain);
  cached_index_ = index;
}

rocksdb::IOStatus FrameReader::ResolveTail(uint64_t physical_size) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    cached_index_ = UINT64_MAX;
  }
  torn_ = false;
  closed_ = false;
  rocksdb::IOStatus s = indexed_     ? ResolveIndexed(physical_size)
                        : immutable_ ? ResolveFixed(physical_size)
                                     : ResolveWalked(physical_size);
  if (s.ok() && torn_) ctx_->stats->torn_tails.fetch_add(1, std::memory_order_relaxed);
  return s;
}

FrameCipher::OpenResult FrameReader::TryOpen(uint64_t i, bool final_frame, PlainBytes* plain,
                                             uint32_t* sync_distance, rocksdb::IOStatus* io) {
  std::vector<uint8_t> stored;
  *io = ReadFrames(i, i, &stored);
  if (!io->ok()) return FrameCipher::OpenResult::kError;
  plain->resize(map_.Bytes(i));
  std::string err;
  FrameCipher::OpenResult r = cipher_->Open(i, final_frame, stored.data(), stored.size(),
                                            plain->data(), &err, sync_distance);
  if (r == FrameCipher::OpenResult::kError) *io = InternalError(path_, err);
  return r;
}

rocksdb::IOStatus FrameReader::ResolveFixed(uint64_t physical_size) {
  const uint32_t f = slot_.frame_size;
  const uint64_t stride = uint64_t{f} + kFrameOverhead;
  const uint64_t body = physical_size > kHeaderRegionSize ? physical_size - kHeaderRegionSize : 0;
  const uint64_t k = body / stride, r = body % stride;
  map_.SetFull(k);
  if (r >= kFrameOverhead) map_.Push(r - kFrameOverhead);
  if (map_.count() == 0) {
    ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return IntegrityError(path_, "file has no frames (truncated: missing final frame)");
  }
  if (r != 0 && r < kFrameOverhead) {
    ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
    return IntegrityError(path_, std::to_string(r) + " unexpected bytes after the last frame");
  }
  const uint64_t last = map_.count() - 1;
  PlainBytes plain;
  rocksdb::IOStatus io;
  FrameCipher::OpenResult res = TryOpen(last, true, &plain, nullptr, &io);
  if (res == FrameCipher::OpenResult::kAuthFailed) {
    res = TryOpen(last, false, &plain, nullptr, &io);
    if (res == FrameCipher::OpenResult::kOk) {
      ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
      return IntegrityError(
          path_, "missing final frame after frame " + std::to_string(last) + " (file truncated)");
    }
    if (res == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(last);
  }
  if (res != FrameCipher::OpenResult::kOk) return io;
  closed_ = true;
  stable_ = map_.count();
  SetCache(last, &plain);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::IndexFailure(const std::string& what, uint64_t offset) const {
  ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
  return IntegrityError(path_, what, offset);
}

rocksdb::IOStatus FrameReader::ResolveIndexed(uint64_t physical_size) {
  // The trailer is unauthenticated; L and k are checked by the index frames' AAD, the frame
  // lengths (and v4's nonce prefix) by the index frames' tags, and the layout by the sums below.
  map_.Clear();
  const uint16_t version = slot_.format_version;
  if (physical_size < kHeaderRegionSize + kIndexTrailerSize) {
    return IndexFailure("file has no frame index (truncated)", kHeaderRegionSize);
  }
  uint8_t trailer[kIndexTrailerSize];
  rocksdb::Slice got;
  const uint64_t trailer_at = physical_size - kIndexTrailerSize;
  rocksdb::IOStatus s = target_->Read(trailer_at, sizeof(trailer), rocksdb::IOOptions(), &got,
                                      reinterpret_cast<char*>(trailer), nullptr);
  if (!s.ok()) return Annotate(s, path_, "read frame index trailer");
  if (got.size() != sizeof(trailer)) return IndexFailure("short frame index trailer", trailer_at);
  if (got.data() != reinterpret_cast<char*>(trailer)) std::memcpy(trailer, got.data(), got.size());
  uint64_t logical = 0;
  uint32_t k = 0;
  if (!DecodeIndexTrailer(version, trailer, &logical, &k)) {
    return IndexFailure("no frame index trailer at the end of the file (truncated or damaged)",
                        trailer_at);
  }
  const uint32_t f = slot_.frame_size;
  const uint64_t stream = IndexStreamBytes(version, k);
  const uint64_t region = IndexRegionSize(stream, f);
  if (region > trailer_at - kHeaderRegionSize ||
      logical + uint64_t{k} * map_.overhead() != trailer_at - region - kHeaderRegionSize) {
    return IndexFailure("frame index trailer does not match the file size (truncated or damaged)",
                        trailer_at);
  }
  const uint64_t index_at = trailer_at - region;
  std::vector<uint8_t> stored(static_cast<size_t>(region));
  s = target_->Read(index_at, stored.size(), rocksdb::IOOptions(), &got,
                    reinterpret_cast<char*>(stored.data()), nullptr);
  if (!s.ok()) return Annotate(s, path_, "read frame index");
  if (got.size() != stored.size()) return IndexFailure("short frame index", index_at);
  if (got.data() != reinterpret_cast<char*>(stored.data())) {
    std::memcpy(stored.data(), got.data(), got.size());
  }
  const uint64_t m = IndexFrameCount(stream, f);
  const FrameCipher::Payload payload =
      compact_ ? FrameCipher::Payload::kClear : FrameCipher::Payload::kEncrypted;
  std::vector<uint8_t> entries(static_cast<size_t>(stream));
  size_t in = 0, out = 0;
  std::string err;
  for (uint64_t j = 0; j < m; ++j) {
    const size_t n = static_cast<size_t>(IndexFrameBytes(stream, f, j));
    uint32_t b = 0;
    FrameCipher::OpenResult r =
        cipher_->Open(logical, j + 1 == m, stored.data() + in, n + kFrameOverhead,
                      entries.data() + out, &err, &b, payload);
    if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
    if (r != FrameCipher::OpenResult::kOk || b != k + j) {
      return IndexFailure("frame index frame " + std::to_string(j) +
                              " does not authenticate (file truncated or tampered)",
                          index_at + in);
    }
    in += n + kFrameOverhead;
    out += n;
  }
  const uint8_t* e = entries.data();
  if (compact_) {
    std::memcpy(nonce_prefix_, e, kNoncePrefixSize);
    e += kNoncePrefixSize;
  }
  const uint32_t max_frame = IndexedMaxFrame(f);
  for (uint64_t i = 0; i < k; ++i) {
    const uint32_t n = GetIndexEntry(e + 4 * i);
    // Authentic, so these only fail for a writer bug; still never trust a length blindly.
    if (n == 0 || n > max_frame) {
      map_.Clear();
      return IndexFailure("frame index entry " + std::to_string(i) + " is invalid", index_at);
    }
    map_.Push(n);
  }
  if (map_.logical_size() != logical || map_.PhysicalEnd() != index_at) {
    map_.Clear();
    return IndexFailure("frame index does not cover the file's frames", index_at);
  }
  closed_ = true;
  stable_ = map_.count();
  return rocksdb::IOStatus::OK();
}

FrameCipher::OpenResult FrameReader::OpenFrame(uint64_t i, const uint8_t* frame, size_t frame_len,
                                               uint8_t* plain, std::string* err) const {
  if (!indexed_) return cipher_->Open(i, FrameIsFinal(i), frame, frame_len, plain, err);
  if (compact_) {
    // v4: the ordinal is in the nonce and the AAD; nothing else to compare.
    uint8_t nonce[kNonceSize];
    CompactFrameNonce(nonce_prefix_, static_cast<uint32_t>(i), nonce);
    return cipher_->OpenCompact(nonce, map_.Start(i), static_cast<uint32_t>(i), frame, frame_len,
                                plain, err);
  }
  uint32_t b = 0;
  FrameCipher::OpenResult r = cipher_->Open(map_.Start(i), false, frame, frame_len, plain, err, &b);
  if (r == FrameCipher::OpenResult::kOk && b != i) {
    SecureWipe(plain, frame_len - kFrameOverhead);
    return FrameCipher::OpenResult::kAuthFailed;
  }
  return r;
}

rocksdb::IOStatus FrameReader::ResolveWalked(uint64_t physical_size) {
  // Frames before stable_ were authenticated by an earlier resolution and cannot change; the
  // walk (which needs no key) continues after them.
  map_.Resize(stable_);
  WalkStop stop = WalkStop::kEnd;
  RawReader read = [this](uint64_t off, size_t n, char* buf, rocksdb::Slice* got) {
    rocksdb::IOStatus s = target_->Read(off, n, rocksdb::IOOptions(), got, buf, nullptr);
    return s.ok() ? s : Annotate(s, path_, "read frame headers");
  };
  rocksdb::IOStatus s = WalkFrames(read, slot_.file_id, physical_size, &map_, &stop);
  if (!s.ok()) return s;
  const uint64_t walk_end = map_.PhysicalEnd();

  // Authenticate the last walked frame; if it fails it is part of the damaged tail.
  PlainBytes plain;
  uint64_t n = map_.count();
  bool have_plain = false;
  uint64_t damaged_from = walk_end;
  if (n > stable_) {
    uint32_t distance = 0;
    // A cleanly closed log-like file ends in an empty frame with the final flag; other empty
    // last frames are sync markers (final = 0).
    FrameCipher::OpenResult r = FrameCipher::OpenResult::kAuthFailed;
    if (map_.Bytes(n - 1) == 0) {
      r = TryOpen(n - 1, true, &plain, &distance, &s);
      if (r == FrameCipher::OpenResult::kOk) closed_ = true;
    }
    if (r == FrameCipher::OpenResult::kAuthFailed) r = TryOpen(n - 1, false, &plain, &distance, &s);
    if (r == FrameCipher::OpenResult::kError) return s;
    if (r == FrameCipher::OpenResult::kOk) {
      have_plain = true;
      vouched_ = distance <= n - 1 ? n - 1 - distance : 0;
    } else {
      damaged_from = map_.Physical(n - 1);
      --n;
    }
  }
  map_.Resize(n);
  if (physical_size > damaged_from) {
    s = CheckTornTail(damaged_from, walk_end, stop, physical_size);
    if (!s.ok()) return s;
    torn_ = true;
  }
  // The last frame may still be rewritten in place by a live writer (an unsynced tail).
  stable_ = n > 0 ? n - 1 : 0;
  if (have_plain) SetCache(n - 1, &plain);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::CheckTornTail(uint64_t damaged_from, uint64_t walk_end,
                                             WalkStop stop, uint64_t physical_size) {
  // A torn write (docs/format.md, "Crash guarantees") damages one frame at the end: less than
  // F + 40 bytes, a frame header it leaves complete and inside one 512-byte sector is a valid
  // (old or new) header, and nothing after the damaged frame is a later frame.
  const uint64_t damaged = physical_size - damaged_from;
  const uint64_t n = map_.count();  // index of the first damaged frame
  std::string why;
  if (damaged > uint64_t{slot_.frame_size} + kFrameOverhead) {
    why = "too long for a torn write";
  } else {
    std::vector<uint8_t> rest(static_cast<size_t>(damaged));
    rocksdb::Slice got;
    rocksdb::IOStatus s = target_->Read(damaged_from, rest.size(), rocksdb::IOOptions(), &got,
                                        reinterpret_cast<char*>(rest.data()), nullptr);
    if (!s.ok()) return Annotate(s, path_, "read damaged tail");
    const uint8_t* p = reinterpret_cast<const uint8_t*>(got.data());
    // An all-zero header is unwritten space (a power failure can expose zeros past the old end
    // of the file), not a damaged header.
    const uint64_t h = walk_end - damaged_from;
    bool zero_header = h + kFrameHeaderSize <= got.size();
    for (uint64_t i = h; zero_header && i < h + kFrameHeaderSize; ++i) zero_header = p[i] == 0;
    const uint64_t span = std::min<uint64_t>(got.size() / kFrameOverhead + 1, 256);
    if (stop == WalkStop::kBadHeader && !zero_header &&
        walk_end / 512 == (walk_end + kFrameHeaderSize - 1) / 512) {
      why = "frame header at file offset " + std::to_string(walk_end) + " is damaged";
    } else if (got.size() > 1 &&
               HasLaterFrameHeader(p + 1, got.size() - 1, damaged_from + 1, slot_.file_id,
                                   slot_.frame_size, n, span, physical_size)) {
      why = "a later frame follows the damaged one";
    }
  }
  if (why.empty()) return rocksdb::IOStatus::OK();
  ctx_->stats->integrity_failures.fetch_add(1, std::memory_order_relaxed);
  return IntegrityError(path_,
                        std::to_string(damaged) + " bytes from file offset " +
                            std::to_string(damaged_from) + " (frame " + std::to_string(n) +
                            " on) do not form authentic frames and are not a torn write (" + why +
                            ")",
                        damaged_from);
}

rocksdb::IOStatus FrameReader::ReadFrames(uint64_t first, uint64_t last,
                                          std::vector<uint8_t>* buf) const {
  const uint64_t start = map_.Physical(first);
  const size_t len =
      static_cast<size_t>(map_.Physical(last) + map_.Bytes(last) + map_.overhead() - start);
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
  const uint64_t size = map_.logical_size();
  if (offset >= size || n == 0) return rocksdb::IOStatus::OK();
  n = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
  const uint64_t first = map_.Find(offset);
  // A block read usually ends in the frame it starts in (v3/v4: a frame per block).
  const uint64_t last = offset + n <= map_.Start(first) + map_.Bytes(first)
                            ? first
                            : map_.Find(offset + n - 1);

  // Fast path: the whole request lies in the cached frame (sequential small reads).
  if (first == last) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cached_index_ == first) {
      std::memcpy(out, cached_plain_.data() + (offset - map_.Start(first)), n);
      *got = n;
      return rocksdb::IOStatus::OK();
    }
  }

  std::vector<uint8_t>& stored = StoredScratch();
  rocksdb::IOStatus s = ReadFrames(first, last, &stored);
  if (!s.ok()) return s;
  PlainBytes& plain = PlainScratch();
  WipeAfterRead wipe{plain};
  const uint64_t base = map_.Physical(first);
  size_t written = 0;
  std::string err;
  for (uint64_t i = first; i <= last; ++i) {
    const size_t bytes = static_cast<size_t>(map_.Bytes(i));
    const uint64_t frame_start = map_.Start(i);
    const size_t from = static_cast<size_t>(std::max(offset, frame_start) - frame_start);
    const size_t to = static_cast<size_t>(std::min(offset + n, frame_start + bytes) - frame_start);
    const uint8_t* frame = stored.data() + (map_.Physical(i) - base);
    const size_t frame_len = bytes + map_.overhead();
    if (from == 0 && to == bytes) {
      FrameCipher::OpenResult r =
          OpenFrame(i, frame, frame_len, reinterpret_cast<uint8_t*>(out + written), &err);
      if (r == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(i);
      if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
    } else {
      std::unique_lock<std::mutex> lock(cache_mu_);
      if (cached_index_ == i) {
        std::memcpy(out + written, cached_plain_.data() + from, to - from);
      } else {
        lock.unlock();
        plain.resize(bytes);
        FrameCipher::OpenResult r = OpenFrame(i, frame, frame_len, plain.data(), &err);
        if (r == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(i);
        if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
        std::memcpy(out + written, plain.data() + from, to - from);
        // Keep the frame by swapping buffers rather than copying it again: the scratch now holds
        // the previously cached frame, which WipeAfterRead wipes (both buffers are wiped up to
        // their size whenever they give up their contents, so nothing lies beyond a size).
        lock.lock();
        cached_plain_.swap(plain);
        cached_index_ = i;
      }
    }
    written += to - from;
  }
  *got = written;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::AuthenticateTrailingEmptyFrames() const {
  if (cipher_ == nullptr) return rocksdb::IOStatus::OK();
  const uint64_t size = map_.logical_size();
  std::vector<uint8_t> stored;
  uint8_t none[1];
  std::string err;
  for (uint64_t i = size == 0 ? 0 : map_.Find(size - 1) + 1; i < map_.count(); ++i) {
    rocksdb::IOStatus s = ReadFrames(i, i, &stored);
    if (!s.ok()) return s;
    FrameCipher::OpenResult r =
        cipher_->Open(i, FrameIsFinal(i), stored.data(), stored.size(), none, &err);
    if (r == FrameCipher::OpenResult::kAuthFailed) return AuthFailure(i);
    if (r == FrameCipher::OpenResult::kError) return InternalError(path_, err);
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FrameReader::Refresh() {
  uint64_t physical = 0;
  rocksdb::IOStatus s = ctx_->base->GetFileSize(path_, rocksdb::IOOptions(), &physical, nullptr);
  // The file may have been renamed or deleted while open (our handle still reads it, as a POSIX
  // descriptor would): keep the view we have.
  if (!s.ok()) return rocksdb::IOStatus::OK();
  if (physical > physical_limit_) physical = physical_limit_;
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
