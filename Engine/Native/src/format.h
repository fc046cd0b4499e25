// Byte layout of encrypted files (docs/format.md is the normative description; this file and
// header.cc must stay in lock-step with it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "rocksdb/io_status.h"

namespace ekv {

constexpr size_t kHeaderRegionSize = 1024;
constexpr size_t kSlotSize = 512;
constexpr size_t kSlotAadSize = 40;  // magic .. generation: associated data of the DEK wrap
constexpr size_t kEnvelopeOffset = 48;
constexpr size_t kEnvelopeMax = 400;
constexpr size_t kChecksumOffset = 504;
constexpr size_t kFileIdSize = 16;
constexpr size_t kDekSize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kFrameOverhead = kNonceSize + kTagSize;   // 28
constexpr size_t kFrameAadSize = 4 + kFileIdSize + 8 + 1;  // "EKVF" || id || index || final

constexpr uint16_t kFormatVersion = 1;
constexpr uint16_t kSuiteAes256Gcm = 1;
constexpr uint32_t kDefaultFrameSize = 4096;
constexpr uint32_t kMinFrameSize = 512;
constexpr uint32_t kMaxFrameSize = 1u << 20;

inline bool ValidFrameSize(uint32_t f) {
  return f >= kMinFrameSize && f <= kMaxFrameSize && (f & (f - 1)) == 0;
}

// Physical offset of frame `index`.
inline uint64_t FrameOffset(uint64_t index, uint32_t frame_size) {
  return kHeaderRegionSize + index * (uint64_t{frame_size} + kFrameOverhead);
}

// Where the frames of a file of physical size P end, as far as the size alone tells.
struct FrameLayout {
  uint64_t frame_count = 0;       // frames with at least their nonce and tag present
  uint64_t last_frame_bytes = 0;  // plaintext bytes of the last frame (F for a full frame)
  uint64_t logical_size = 0;      // logical size if every frame authenticates
  bool torn = false;              // 0 < r < 28: a frame was cut inside its nonce/tag
};

// Interprets the physical size of a file that has a header region (P >= 1024). A torn
// remainder is dropped: the logical size then ends at the last complete frame.
FrameLayout LayoutFromPhysical(uint64_t physical_size, uint32_t frame_size);

// The parsed, checksum-valid content of one header slot.
struct HeaderSlot {
  uint32_t frame_size = kDefaultFrameSize;
  uint8_t file_id[kFileIdSize] = {};
  uint64_t generation = 1;
  uint32_t flags = 0;
  uint16_t envelope_len = 0;
  uint8_t envelope[kEnvelopeMax] = {};
};

// Writes bytes 0..39 of a slot (the DEK-wrap associated data) for `slot`.
void EncodeSlotAad(const HeaderSlot& slot, uint8_t out[kSlotAadSize]);

// Serializes a complete 512-byte slot including envelope, padding and checksum.
void EncodeSlot(const HeaderSlot& slot, uint8_t out[kSlotSize]);

// Serializes the 1024-byte header region of a new file: `slot` in slot A, slot B zeroed.
void EncodeNewHeaderRegion(const HeaderSlot& slot, uint8_t out[kHeaderRegionSize]);

// Picks the valid slot with the highest generation from a header region. On failure returns
// a Corruption status tagged "[ekv:integrity] <path>: header ...".
rocksdb::IOStatus DecodeHeaderRegion(const std::string& path, const uint8_t* region,
                                     size_t region_len, HeaderSlot* out);

// Frame associated data: "EKVF" || file id || index (u64 LE) || final (u8).
void EncodeFrameAad(const uint8_t file_id[kFileIdSize], uint64_t index, bool final_frame,
                    uint8_t out[kFrameAadSize]);

// True for files whose last frame must carry the final flag (SST and blob files are written
// once and closed before RocksDB ever references them, so a missing final frame means
// truncation).
bool RequiresFinalFrame(const std::string& path);

}  // namespace ekv
