// Byte layout of encrypted files (docs/format.md is the normative description; this file and
// header.cc must stay in lock-step with it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ekvfs.h"
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
// Frame header: plaintext length n (u32) || sync distance b (u32) || header check (u32).
constexpr size_t kFrameHeaderSize = 12;
constexpr size_t kFrameOverhead = kFrameHeaderSize + kNonceSize + kTagSize;  // 40
// "EKVF" || file id || index (u64) || final (u8) || n (u32) || b (u32)
constexpr size_t kFrameAadSize = 4 + kFileIdSize + 8 + 1 + 4 + 4;

// Version 2: every file has fixed-stride frames (immutable) or walked frames (log-like).
// Version 3 (immutable files only): a frame per RocksDB append, located through an authenticated
// frame index at the end of the file (frame_index.h; docs/format.md, "Format v3").
// Version 4 (immutable files only, written since issue 13): the v3 layout with 16-byte data frames
// (ciphertext || tag: the length and ordinal are in the index, the nonce is derived from the
// ordinal) and the frame index in clear, authenticated (docs/format.md, "Format v4"). Log-like
// files are still written as version 2; every version is read.
constexpr uint16_t kFormatVersionFixed = 2;
constexpr uint16_t kFormatVersionIndexed = 3;
constexpr uint16_t kFormatVersionCompact = 4;
constexpr uint16_t kFormatVersion = kFormatVersionFixed;  // log-like files
// Versions 3 and 4: frames located through a frame index.
inline bool IsIndexedVersion(uint16_t v) {
  return v == kFormatVersionIndexed || v == kFormatVersionCompact;
}
// Stored bytes per data frame besides its plaintext.
constexpr size_t kCompactFrameOverhead = kTagSize;  // 16
inline size_t DataFrameOverhead(uint16_t v) {
  return v == kFormatVersionCompact ? kCompactFrameOverhead : kFrameOverhead;
}
constexpr uint16_t kSuiteAes256Gcm = 1;
constexpr uint32_t kDefaultFrameSize = 4096;
constexpr uint32_t kMinFrameSize = 512;
constexpr uint32_t kMaxFrameSize = 1u << 20;

inline bool ValidFrameSize(uint32_t f) {
  return f >= kMinFrameSize && f <= kMaxFrameSize && (f & (f - 1)) == 0;
}

// Physical offset of frame `index` in a file whose frames before it are all full (fixed
// stride: immutable files, see FrameMap for the general case).
inline uint64_t FixedFrameOffset(uint64_t index, uint32_t frame_size) {
  return kHeaderRegionSize + index * (uint64_t{frame_size} + kFrameOverhead);
}

// The plaintext fields of a frame header.
struct FrameHeader {
  uint32_t length = 0;         // plaintext bytes n
  uint32_t sync_distance = 0;  // b: frames [0, index - b) were durable when this frame was sealed
};

// Header check: an unkeyed 32-bit hash of (file id, index, n, b). It only tells a written frame
// header from zeros or garbage left by a crash; authenticity comes from the GCM tag.
uint32_t FrameHeaderCheck(const uint8_t file_id[kFileIdSize], uint64_t index, const FrameHeader& h);
void EncodeFrameHeader(const uint8_t file_id[kFileIdSize], uint64_t index, const FrameHeader& h,
                       uint8_t out[kFrameHeaderSize]);
// False when the check does not match or n exceeds the frame size.
bool DecodeFrameHeader(const uint8_t file_id[kFileIdSize], uint64_t index, uint32_t frame_size,
                       const uint8_t in[kFrameHeaderSize], FrameHeader* h);

// Logical size of an immutable (fixed-stride) file from its physical size P >= 1024, without a
// key; a remainder too short to be a frame is not counted (*torn_remainder set).
uint64_t FixedLogicalSize(uint64_t physical_size, uint32_t frame_size, bool* torn_remainder);

// The parsed, checksum-valid content of one header slot.
struct HeaderSlot {
  uint16_t format_version = kFormatVersionFixed;  // 2 or 3; bound into the DEK wrap (slot AAD)
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

// Picks the valid slot with the highest generation from a header region (slot A on a tie);
// *active (if not null) receives 0 for slot A, 1 for slot B. On failure returns a Corruption
// status tagged "[ekv:integrity] <path>: header ...".
rocksdb::IOStatus DecodeHeaderRegion(const std::string& path, const uint8_t* region,
                                     size_t region_len, HeaderSlot* out, int* active = nullptr);

// Frame associated data: "EKVF" || file id || index (u64) || final (u8) || n (u32) || b (u32).
void EncodeFrameAad(const uint8_t file_id[kFileIdSize], uint64_t index, bool final_frame,
                    const FrameHeader& h, uint8_t out[kFrameAadSize]);

// Immutable files: SST and blob files are written once, synced and closed before RocksDB ever
// references them. They keep a fixed frame stride (a Sync never closes their tail frame) and
// their last frame must carry the final flag, so a missing final frame means truncation. Every
// other file is "log-like" (WAL, MANIFEST, LOG, OPTIONS, CURRENT, ...): a Sync seals its tail
// frame for good, frames may be short, and readers walk the frame headers.
bool IsImmutableFile(const std::string& path);

// White-box tests only (never set by the plugin): when not 0, new immutable files are written in
// this older format version (2 or 3), so the tests of those layouts keep covering the readers
// (and writers) that existing files still use. Defined in frame_index.cc.
extern std::atomic<uint16_t> g_test_write_format_version;

// The format version of a new file at `path`: 4 for immutable files, 2 for the rest.
inline uint16_t FormatVersionForNewFile(const std::string& path) {
  if (!IsImmutableFile(path)) return kFormatVersionFixed;
  const uint16_t v = g_test_write_format_version.load(std::memory_order_relaxed);
  return v != 0 ? v : kFormatVersionCompact;
}

// Sets g_test_write_format_version for one scope (tests).
struct ScopedFormatVersionForTests {
  explicit ScopedFormatVersionForTests(uint16_t v) { g_test_write_format_version = v; }
  ~ScopedFormatVersionForTests() { g_test_write_format_version = 0; }
};
struct ScopedFixedFormatForTests : ScopedFormatVersionForTests {
  ScopedFixedFormatForTests() : ScopedFormatVersionForTests(kFormatVersionFixed) {}
};

// The file kind of ekvfs.h (ekv_file_kind_of): RocksDB's LOCK is passed through unencrypted,
// immutable files as above, everything else is log-like.
ekv_file_kind FileKindOf(const std::string& path);

}  // namespace ekv
