#include "frame_map.h"

#include <algorithm>
#include <cstring>

namespace ekv {

uint64_t FrameMap::Find(uint64_t offset) const {
  if (offset < full_ * f_) return offset / f_;
  // Two levels: every 16th start (top_: 1/16 of the index, stays cached), then the 16 starts
  // after it. One binary search over all starts cost a cache miss per probe on a big table (a
  // 64 MB v4 table has ~28k frames): 2.3% of a cold-read run's CPU (PROFILE.md, "Format v4").
  auto t = std::upper_bound(top_.begin(), top_.end(), offset);
  const size_t lo = t == top_.begin() ? 0 : static_cast<size_t>(t - top_.begin() - 1) * kTopStride;
  const size_t hi = std::min(starts_.size(), lo + kTopStride);
  auto it = std::upper_bound(starts_.begin() + lo, starts_.begin() + hi, offset);
  return full_ + static_cast<uint64_t>(it - starts_.begin()) - 1;
}

void FrameMap::Push(uint64_t n) {
  if (starts_.empty() && end_ == full_ * f_ && n == f_) {
    ++full_;
  } else {
    if (starts_.size() % kTopStride == 0) top_.push_back(end_);
    starts_.push_back(end_);
  }
  end_ += n;
}

void FrameMap::Resize(uint64_t n) {
  if (n >= count()) return;
  if (n <= full_) {
    full_ = n;
    starts_.clear();
    top_.clear();
    end_ = n * f_;
  } else {
    end_ = starts_[n - full_];
    starts_.resize(n - full_);
    top_.resize((starts_.size() + kTopStride - 1) / kTopStride);
  }
}

rocksdb::IOStatus WalkFrames(const RawReader& read, const uint8_t file_id[kFileIdSize],
                             uint64_t physical_size, FrameMap* map, WalkStop* stop) {
  constexpr size_t kChunk = 256 << 10;
  std::vector<char> buf(kChunk);
  uint64_t buf_start = 0, buf_len = 0;  // physical range held in buf
  uint64_t pos = map->PhysicalEnd();
  WalkStop why = WalkStop::kEnd;
  while (pos < physical_size) {
    if (physical_size - pos < kFrameHeaderSize) {
      why = WalkStop::kHeaderCut;
      break;
    }
    if (pos < buf_start || pos + kFrameHeaderSize > buf_start + buf_len) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, physical_size - pos));
      rocksdb::Slice got;
      rocksdb::IOStatus s = read(pos, want, buf.data(), &got);
      if (!s.ok()) return s;
      if (got.size() < kFrameHeaderSize) {  // the file shrank under us: a cut header
        why = WalkStop::kHeaderCut;
        break;
      }
      if (got.data() != buf.data()) std::memcpy(buf.data(), got.data(), got.size());
      buf_start = pos;
      buf_len = got.size();
    }
    FrameHeader h;
    const uint8_t* hp = reinterpret_cast<const uint8_t*>(buf.data() + (pos - buf_start));
    if (!DecodeFrameHeader(file_id, map->count(), map->frame_size(), hp, &h)) {
      why = WalkStop::kBadHeader;
      break;
    }
    if (pos + kFrameOverhead + h.length > physical_size) {
      why = WalkStop::kPastEnd;
      break;
    }
    map->Push(h.length);
    pos += kFrameOverhead + h.length;
  }
  if (stop != nullptr) *stop = why;
  return rocksdb::IOStatus::OK();
}

bool HasLaterFrameHeader(const uint8_t* buf, size_t len, uint64_t start,
                         const uint8_t file_id[kFileIdSize], uint32_t frame_size,
                         uint64_t first_index, uint64_t span, uint64_t physical_size) {
  for (size_t at = 0; at + kFrameHeaderSize <= len; ++at) {
    const uint8_t* p = buf + at;
    const uint32_t n =
        uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
    // Cheap filter first: random bytes almost never claim a length that fits.
    if (n > frame_size || start + at + kFrameOverhead + n > physical_size) continue;
    FrameHeader h;
    for (uint64_t i = first_index; i <= first_index + span; ++i) {
      if (DecodeFrameHeader(file_id, i, frame_size, p, &h)) return true;
    }
  }
  return false;
}

}  // namespace ekv
