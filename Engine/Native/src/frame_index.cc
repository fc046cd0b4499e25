#include "frame_index.h"

#include <cstring>

namespace ekv {

std::atomic<uint16_t> g_test_write_format_version{0};

namespace {
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
const char* TrailerMagic(uint16_t version) {
  return version == kFormatVersionCompact ? kIndexTrailerMagicV4 : kIndexTrailerMagicV3;
}
}  // namespace

void PutIndexEntry(uint8_t* p, uint32_t n) { PutU32(p, n); }
uint32_t GetIndexEntry(const uint8_t* p) { return GetU32(p); }

void CompactFrameNonce(const uint8_t prefix[kNoncePrefixSize], uint32_t ordinal,
                       uint8_t out[kNonceSize]) {
  std::memcpy(out, prefix, kNoncePrefixSize);
  PutU32(out + kNoncePrefixSize, ordinal);
}

void EncodeIndexTrailer(uint16_t version, uint64_t logical_size, uint32_t frames,
                        uint8_t out[kIndexTrailerSize]) {
  PutU32(out, static_cast<uint32_t>(logical_size));
  PutU32(out + 4, static_cast<uint32_t>(logical_size >> 32));
  PutU32(out + 8, frames);
  std::memcpy(out + 12, TrailerMagic(version), 4);
}

bool DecodeIndexTrailer(uint16_t version, const uint8_t in[kIndexTrailerSize],
                        uint64_t* logical_size, uint32_t* frames) {
  if (std::memcmp(in + 12, TrailerMagic(version), 4) != 0) return false;
  *logical_size = uint64_t{GetU32(in)} | uint64_t{GetU32(in + 4)} << 32;
  *frames = GetU32(in + 8);
  return true;
}

uint64_t IndexedLogicalSize(uint16_t version, uint64_t physical_size,
                            const uint8_t trailer[kIndexTrailerSize]) {
  uint64_t logical = 0;
  uint32_t k = 0;
  if (physical_size < kHeaderRegionSize + kIndexTrailerSize ||
      !DecodeIndexTrailer(version, trailer, &logical, &k)) {
    return 0;
  }
  // Only plausible values: the frames must fit in the file.
  if (logical + uint64_t{k} * DataFrameOverhead(version) > physical_size) return 0;
  return logical;
}

}  // namespace ekv
