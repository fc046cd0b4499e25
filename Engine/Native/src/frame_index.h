// Format v3 and v4 immutable files (docs/format.md, "Format v3", "Format v4"): frames follow
// RocksDB's appends (one block, one frame) and an authenticated frame index at the end of the
// file locates them.
//
//   header region (1024) || data frame 0 || ... || data frame k-1 || index frame 0 || ...
//   || index frame m-1 || trailer (16)
//
// Data frame i covers logical bytes [S(i), S(i) + n(i)) and is sealed with the frame AAD of
// format.h where the u64 position field is S(i) (its logical offset, not its ordinal), final = 0
// and b = i (its ordinal). The trailer is L (u64) || k (u32) || "EKI3" / "EKI4", unauthenticated:
// L and k are bound into every index frame's AAD.
//
// v3: a data frame is a 40-byte-overhead frame (header || random nonce || ciphertext || tag).
// The index stream n(0) || ... || n(k-1) (u32 each) is encrypted in index frames of at most
// IndexedMaxFrame(F) bytes; index frame j is sealed with position L, b = k + j and final = 1 on
// the last one only.
//
// v4: a data frame is ciphertext || tag (16 bytes of overhead). Its nonce is never stored: it is
// P || i (u32 little-endian), P being 8 bytes drawn from the CSPRNG by the file's one writer
// (SP 800-38D's deterministic construction: a fixed field unique to the writer, an invocation
// field that the writer increments and never repeats). The index stream is P || n(0) || ... ||
// n(k-1), kept in clear (frame lengths were in clear in every earlier version) and authenticated
// as GCM associated data (GMAC) in 40-byte-overhead index frames (FrameCipher's clear payload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format.h"

namespace ekv {

constexpr size_t kIndexTrailerSize = 16;
constexpr char kIndexTrailerMagicV3[4] = {'E', 'K', 'I', '3'};
constexpr char kIndexTrailerMagicV4[4] = {'E', 'K', 'I', '4'};
// v4: the writer's nonce prefix P, the first bytes of the index stream.
constexpr size_t kNoncePrefixSize = 8;

// An append of more than kTinyAppend bytes starts a new frame once the open frame holds at least
// IndexedMinFrame bytes; shorter appends (RocksDB's 5-byte block trailers) always join the open
// frame. So frames hold whole blocks.
// v3 (40 bytes per frame): RocksDB's uncompressed blocks (cut between 90% and a little over 100%
// of block_size = F) get a frame each, smaller (compressed) blocks share a frame until it holds
// 3F/4 bytes, which keeps the overhead near 40/F; a block read then decrypts its neighbours too.
// v4 (16 bytes per frame + 4 in the index): every block of at least F/2 gets its own frame, so a
// cold read of such a block decrypts exactly that block; smaller blocks share a frame until it
// holds F/2 (at most 20 bytes per 2 KiB, ~1%; one frame per 1 KiB block would be ~2%, and a GCM
// call costs about as much as decrypting 700 more bytes, so pairing small blocks is cheaper too).
// RocksDB's blocks at 100-byte values (~50% compressible, snappy) are ~2.3 KiB: a frame each.
constexpr size_t kTinyAppend = 16;
inline size_t IndexedMinFrame(uint16_t version, uint32_t f) {
  return version == kFormatVersionCompact ? f / 2 : f - f / 4;
}

// Largest plaintext of one indexed frame for a header frame size F: appends of up to 4F bytes (one
// RocksDB block) stay whole, plus coalesced small appends. Larger appends (RocksDB's own write
// buffer, when it is on) are cut into frames of F bytes.
inline uint32_t IndexedMaxFrame(uint32_t f) { return 8 * f; }
inline size_t IndexedWholeAppend(uint32_t f) { return size_t{4} * f; }

// Bytes of the index stream for k data frames.
inline uint64_t IndexStreamBytes(uint16_t version, uint64_t k) {
  return (version == kFormatVersionCompact ? kNoncePrefixSize : 0) + 4 * k;
}
// Number of index frames for an index stream of `stream` bytes (at least one, possibly empty).
inline uint64_t IndexFrameCount(uint64_t stream, uint32_t f) {
  const uint64_t per = IndexedMaxFrame(f);
  return stream == 0 ? 1 : (stream + per - 1) / per;
}
// Bytes of the index stream in index frame j.
inline uint64_t IndexFrameBytes(uint64_t stream, uint32_t f, uint64_t j) {
  const uint64_t per = IndexedMaxFrame(f);
  const uint64_t first = j * per;
  return stream - first < per ? stream - first : per;
}
// Physical bytes of the index frames (without the trailer).
inline uint64_t IndexRegionSize(uint64_t stream, uint32_t f) {
  return stream + IndexFrameCount(stream, f) * kFrameOverhead;
}

void EncodeIndexTrailer(uint16_t version, uint64_t logical_size, uint32_t frames,
                        uint8_t out[kIndexTrailerSize]);
// False when the magic does not match the version.
bool DecodeIndexTrailer(uint16_t version, const uint8_t in[kIndexTrailerSize],
                        uint64_t* logical_size, uint32_t* frames);

void PutIndexEntry(uint8_t* p, uint32_t n);
uint32_t GetIndexEntry(const uint8_t* p);

// v4: the nonce of data frame `ordinal`: prefix || ordinal (u32 little-endian).
void CompactFrameNonce(const uint8_t prefix[kNoncePrefixSize], uint32_t ordinal,
                       uint8_t out[kNonceSize]);

// Logical size of a closed v3/v4 file from its trailer, without a key and unauthenticated (as
// FixedLogicalSize for v2): 0 when the trailer is missing. The reader authenticates it at open.
uint64_t IndexedLogicalSize(uint16_t version, uint64_t physical_size,
                            const uint8_t trailer[kIndexTrailerSize]);

}  // namespace ekv
