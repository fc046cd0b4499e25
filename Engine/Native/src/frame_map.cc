#include "frame_map.h"

#include <algorithm>
#include <cstring>

namespace ekv {

uint64_t FrameMap::Find(uint64_t offset) const {
  if (offset < full_ * f_) return offset / f_;
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  return full_ + static_cast<uint64_t>(it - starts_.begin()) - 1;
}

void FrameMap::Push(uint64_t n) {
  if (starts_.empty() && end_ == full_ * f_ && n == f_) {
    ++full_;
  } else {
    starts_.push_back(end_);
  }
  end_ += n;
}

void FrameMap::Resize(uint64_t n) {
  if (n >= count()) return;
  if (n <= full_) {
    full_ = n;
    starts_.clear();
    end_ = n * f_;
  } else {
    end_ = starts_[n - full_];
    starts_.resize(n - full_);
  }
}

rocksdb::IOStatus WalkFrames(const RawReader& read, const uint8_t file_id[kFileIdSize],
                             uint64_t physical_size, FrameMap* map, uint64_t* torn_bytes) {
  constexpr size_t kChunk = 256 << 10;
  std::vector<char> buf(kChunk);
  uint64_t buf_start = 0, buf_len = 0;  // physical range held in buf
  uint64_t pos = map->PhysicalEnd();
  while (pos + kFrameOverhead <= physical_size) {
    if (pos < buf_start || pos + kFrameHeaderSize > buf_start + buf_len) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, physical_size - pos));
      rocksdb::Slice got;
      rocksdb::IOStatus s = read(pos, want, buf.data(), &got);
      if (!s.ok()) return s;
      if (got.size() < kFrameHeaderSize) break;  // the file shrank under us: stop here
      if (got.data() != buf.data()) std::memcpy(buf.data(), got.data(), got.size());
      buf_start = pos;
      buf_len = got.size();
    }
    FrameHeader h;
    const uint8_t* hp = reinterpret_cast<const uint8_t*>(buf.data() + (pos - buf_start));
    if (!DecodeFrameHeader(file_id, map->count(), map->frame_size(), hp, &h)) break;
    if (pos + kFrameOverhead + h.length > physical_size) break;
    map->Push(h.length);
    pos += kFrameOverhead + h.length;
  }
  *torn_bytes = physical_size > map->PhysicalEnd() ? physical_size - map->PhysicalEnd() : 0;
  return rocksdb::IOStatus::OK();
}

}  // namespace ekv
