// Where the frames of one file lie (docs/format.md, "Frames"). Frame i covers logical bytes
// [Start(i), Start(i) + Bytes(i)) and is stored at physical offset 1024 + i*D + Start(i), D being
// the stored bytes per frame besides its plaintext (40; 16 for format v4 data frames).
// Leading full frames are kept as a count (fixed stride: an immutable file is only that plus its
// last frame); frames after the first short frame are kept as a list of logical starts.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "format.h"
#include "memory_gauge.h"
#include "rocksdb/file_system.h"

namespace ekv {

class FrameMap {
 public:
  explicit FrameMap(uint32_t frame_size = kDefaultFrameSize, uint32_t overhead = kFrameOverhead)
      : f_(frame_size), d_(overhead) {}

  uint32_t frame_size() const { return f_; }
  uint32_t overhead() const { return d_; }
  uint64_t count() const { return full_ + starts_.size(); }
  uint64_t logical_size() const { return end_; }
  uint64_t Start(uint64_t i) const { return i < full_ ? i * f_ : starts_[i - full_]; }
  uint64_t Bytes(uint64_t i) const { return (i + 1 < count() ? Start(i + 1) : end_) - Start(i); }
  uint64_t Physical(uint64_t i) const { return kHeaderRegionSize + i * d_ + Start(i); }
  // First physical byte after the last frame.
  uint64_t PhysicalEnd() const { return kHeaderRegionSize + count() * d_ + end_; }
  // Index of the frame holding logical byte `offset` (< logical_size()).
  uint64_t Find(uint64_t offset) const;

  void Clear() {
    full_ = 0;
    starts_.clear();
    top_.clear();
    end_ = 0;
  }
  // n full frames and nothing else.
  void SetFull(uint64_t n) {
    Clear();
    full_ = n;
    end_ = n * f_;
  }
  // Appends a frame of n plaintext bytes.
  void Push(uint64_t n);
  // Keeps the first n frames.
  void Resize(uint64_t n);

 private:
  uint32_t f_;
  uint32_t d_;
  uint64_t full_ = 0;             // frames [0, full_) are full, at fixed stride
  // Logical starts of frames full_, full_ + 1, ...: the frame index (counted in its gauge).
  std::vector<uint64_t, GaugedAllocator<uint64_t, GaugeKind::kFrameIndex>> starts_;
  // starts_[0], starts_[kTopStride], starts_[2 * kTopStride], ...: Find searches these first
  // (16: the 16 starts after one are two cache lines, the misses that remain per lookup).
  static constexpr size_t kTopStride = 16;
  std::vector<uint64_t, GaugedAllocator<uint64_t, GaugeKind::kFrameIndex>> top_;
  uint64_t end_ = 0;              // logical size
};

// Reads n bytes at a physical offset (short only at end of file) of the underlying file.
using RawReader =
    std::function<rocksdb::IOStatus(uint64_t offset, size_t n, char* buf, rocksdb::Slice* got)>;

// Why a walk ended before the end of the file.
enum class WalkStop {
  kEnd,        // at the end of the file
  kHeaderCut,  // fewer than 12 bytes left
  kBadHeader,  // a complete header whose check fails or whose length exceeds the frame size
  kPastEnd,    // a valid header whose frame would extend past the end of the file
};

// Extends `map` by walking frame headers from map->PhysicalEnd() up to `physical_size`; the
// walk ends at the first header that is cut, bad, or whose frame extends past the end. That
// frame and everything after it are a damaged remainder. Needs no key.
rocksdb::IOStatus WalkFrames(const RawReader& read, const uint8_t file_id[kFileIdSize],
                             uint64_t physical_size, FrameMap* map, WalkStop* stop = nullptr);

// True if some position in buf (file bytes starting at physical `start`) holds a frame header
// whose check is valid for a frame index in [first_index, first_index + span] and whose frame
// fits before `physical_size`: a frame that a torn write cannot have left behind.
bool HasLaterFrameHeader(const uint8_t* buf, size_t len, uint64_t start,
                         const uint8_t file_id[kFileIdSize], uint32_t frame_size,
                         uint64_t first_index, uint64_t span, uint64_t physical_size);

}  // namespace ekv
