// Format v3 immutable files (docs/format.md, "Format v3"): frames follow RocksDB's appends (one
// block, one frame) and an authenticated frame index at the end of the file locates them.
//
//   header region (1024) || data frame 0 || ... || data frame k-1 || index frame 0 || ...
//   || index frame m-1 || trailer (16)
//
// Data frame i covers logical bytes [S(i), S(i) + n(i)) and is sealed with the frame AAD of
// format.h where the u64 position field is S(i) (its logical offset, not its ordinal), final = 0
// and b = i (its ordinal). The index plaintext is n(0) || ... || n(k-1) (u32 each), cut into
// index frames of at most IndexedMaxFrame(F) bytes; index frame j is sealed with position L (the
// logical size), b = k + j and final = 1 on the last one only. The trailer is
// L (u64) || k (u32) || "EKI3", unauthenticated: L and k are bound into every index frame's AAD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format.h"

namespace ekv {

constexpr size_t kIndexTrailerSize = 16;
constexpr char kIndexTrailerMagic[4] = {'E', 'K', 'I', '3'};
// An append of more than kTinyAppend bytes starts a new frame once the open frame holds at least
// IndexedMinFrame(F) = 3F/4 bytes; shorter appends (RocksDB's 5-byte block trailers) always join
// the open frame. So frames hold whole blocks; RocksDB's uncompressed blocks (cut between 90% and
// a little over 100% of block_size = F) get a frame each, and smaller (compressed) blocks share a
// frame until it holds 3F/4 bytes: a block read still opens one frame, and the 40-byte frame
// overhead stays near 40/F.
constexpr size_t kTinyAppend = 16;
inline size_t IndexedMinFrame(uint32_t f) { return f - f / 4; }

// Largest plaintext of one v3 frame for a header frame size F: appends of up to 4F bytes (one
// RocksDB block) stay whole, plus coalesced small appends. Larger appends (RocksDB's own write
// buffer, when it is on) are cut into frames of F bytes.
inline uint32_t IndexedMaxFrame(uint32_t f) { return 8 * f; }
inline size_t IndexedWholeAppend(uint32_t f) { return size_t{4} * f; }

// Number of index frames for k data frames (at least one, possibly empty).
inline uint64_t IndexFrameCount(uint64_t k, uint32_t f) {
  const uint64_t per = IndexedMaxFrame(f) / 4;
  return k == 0 ? 1 : (k + per - 1) / per;
}
// Plaintext bytes in index frame j.
inline uint64_t IndexFrameBytes(uint64_t k, uint32_t f, uint64_t j) {
  const uint64_t per = IndexedMaxFrame(f) / 4;
  const uint64_t first = j * per;
  return 4 * (k - first < per ? k - first : per);
}
// Physical bytes of the index frames (without the trailer).
inline uint64_t IndexRegionSize(uint64_t k, uint32_t f) {
  return 4 * k + IndexFrameCount(k, f) * kFrameOverhead;
}

void EncodeIndexTrailer(uint64_t logical_size, uint32_t frames, uint8_t out[kIndexTrailerSize]);
// False when the magic does not match.
bool DecodeIndexTrailer(const uint8_t in[kIndexTrailerSize], uint64_t* logical_size,
                        uint32_t* frames);

void PutIndexEntry(uint8_t* p, uint32_t n);
uint32_t GetIndexEntry(const uint8_t* p);

// Logical size of a closed v3 file from its trailer, without a key and unauthenticated (as
// FixedLogicalSize for v2): 0 when the trailer is missing. The reader authenticates it at open.
uint64_t IndexedLogicalSize(uint64_t physical_size, const uint8_t trailer[kIndexTrailerSize]);

}  // namespace ekv
