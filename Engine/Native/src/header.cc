// Header region and frame associated data (docs/format.md, "Header region" and "Frames").
#include <openssl/sha.h>

#include <cstring>

#include "errors.h"
#include "format.h"

namespace ekv {

namespace {

constexpr char kMagic[8] = {'E', 'K', 'V', 'F', 'I', 'L', 'E', '1'};

void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void SlotChecksum(const uint8_t* slot, uint8_t out[8]) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(slot, kChecksumOffset, digest);
  std::memcpy(out, digest, 8);
}

bool AllZero(const uint8_t* p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

// Why a slot was rejected; used to build a useful message when no slot is valid.
enum class SlotState { kValid, kEmpty, kBadChecksum, kBadMagic, kUnsupported, kMalformed };

const char* Describe(SlotState s) {
  switch (s) {
    case SlotState::kValid:
      return "valid";
    case SlotState::kEmpty:
      return "empty";
    case SlotState::kBadChecksum:
      return "checksum mismatch";
    case SlotState::kBadMagic:
      return "bad magic";
    case SlotState::kUnsupported:
      return "unsupported format version or cipher suite";
    case SlotState::kMalformed:
      return "malformed fields";
  }
  return "?";
}

SlotState ParseSlot(const uint8_t* p, HeaderSlot* out) {
  if (AllZero(p, kSlotSize)) return SlotState::kEmpty;
  uint8_t sum[8];
  SlotChecksum(p, sum);
  if (std::memcmp(sum, p + kChecksumOffset, 8) != 0) return SlotState::kBadChecksum;
  // The checksum is public (no key), so everything below is still attacker-controlled; it is
  // checked for sanity here and authenticated by the DEK unwrap (bytes 0..39) and by every
  // frame tag (file id, frame size via frame positions).
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return SlotState::kBadMagic;
  const uint16_t version = GetU16(p + 8);
  if ((version != kFormatVersionFixed && !IsIndexedVersion(version)) ||
      GetU16(p + 10) != kSuiteAes256Gcm) {
    return SlotState::kUnsupported;
  }
  HeaderSlot s;
  s.format_version = version;
  s.frame_size = GetU32(p + 12);
  std::memcpy(s.file_id, p + 16, kFileIdSize);
  s.generation = GetU64(p + 32);
  s.flags = GetU32(p + 40);
  s.envelope_len = GetU16(p + 44);
  if (!ValidFrameSize(s.frame_size) || s.generation == 0 || s.flags != 0 || s.envelope_len == 0 ||
      s.envelope_len > kEnvelopeMax || GetU16(p + 46) != 0 ||
      !AllZero(p + kEnvelopeOffset + s.envelope_len, kEnvelopeMax - s.envelope_len) ||
      !AllZero(p + kEnvelopeOffset + kEnvelopeMax,
               kChecksumOffset - kEnvelopeOffset - kEnvelopeMax)) {
    return SlotState::kMalformed;
  }
  std::memcpy(s.envelope, p + kEnvelopeOffset, s.envelope_len);
  *out = s;
  return SlotState::kValid;
}

}  // namespace

uint64_t FixedLogicalSize(uint64_t physical_size, uint32_t frame_size, bool* torn_remainder) {
  *torn_remainder = false;
  if (physical_size <= kHeaderRegionSize) return 0;
  const uint64_t stride = uint64_t{frame_size} + kFrameOverhead;
  const uint64_t body = physical_size - kHeaderRegionSize;
  const uint64_t r = body % stride;
  *torn_remainder = r != 0 && r < kFrameOverhead;
  return (body / stride) * frame_size + (r >= kFrameOverhead ? r - kFrameOverhead : 0);
}

uint32_t FrameHeaderCheck(const uint8_t file_id[kFileIdSize], uint64_t index,
                          const FrameHeader& h) {
  // splitmix64-style mixing of the four words; any fixed, well-mixing function would do.
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  uint64_t acc = mix(GetU64(file_id) ^ 0x454b5646484452ull);  // "EKVFHDR"
  acc = mix(acc ^ GetU64(file_id + 8));
  acc = mix(acc ^ index);
  acc = mix(acc ^ ((uint64_t{h.length} << 32) | h.sync_distance));
  return static_cast<uint32_t>(acc ^ (acc >> 32));
}

void EncodeFrameHeader(const uint8_t file_id[kFileIdSize], uint64_t index, const FrameHeader& h,
                       uint8_t out[kFrameHeaderSize]) {
  PutU32(out, h.length);
  PutU32(out + 4, h.sync_distance);
  PutU32(out + 8, FrameHeaderCheck(file_id, index, h));
}

bool DecodeFrameHeader(const uint8_t file_id[kFileIdSize], uint64_t index, uint32_t frame_size,
                       const uint8_t in[kFrameHeaderSize], FrameHeader* h) {
  FrameHeader v;
  v.length = GetU32(in);
  v.sync_distance = GetU32(in + 4);
  if (v.length > frame_size || GetU32(in + 8) != FrameHeaderCheck(file_id, index, v)) return false;
  *h = v;
  return true;
}

void EncodeSlotAad(const HeaderSlot& slot, uint8_t out[kSlotAadSize]) {
  std::memcpy(out, kMagic, sizeof(kMagic));
  PutU16(out + 8, slot.format_version);
  PutU16(out + 10, kSuiteAes256Gcm);
  PutU32(out + 12, slot.frame_size);
  std::memcpy(out + 16, slot.file_id, kFileIdSize);
  PutU64(out + 32, slot.generation);
}

void EncodeSlot(const HeaderSlot& slot, uint8_t out[kSlotSize]) {
  std::memset(out, 0, kSlotSize);
  EncodeSlotAad(slot, out);
  PutU32(out + 40, slot.flags);
  PutU16(out + 44, slot.envelope_len);
  std::memcpy(out + kEnvelopeOffset, slot.envelope, slot.envelope_len);
  SlotChecksum(out, out + kChecksumOffset);
}

void EncodeNewHeaderRegion(const HeaderSlot& slot, uint8_t out[kHeaderRegionSize]) {
  EncodeSlot(slot, out);
  std::memset(out + kSlotSize, 0, kSlotSize);
}

rocksdb::IOStatus DecodeHeaderRegion(const std::string& path, const uint8_t* region,
                                     size_t region_len, HeaderSlot* out, int* active) {
  if (region_len < kHeaderRegionSize) {
    return IntegrityError(
        path, "header truncated (" + std::to_string(region_len) + " of 1024 bytes present)");
  }
  HeaderSlot a, b;
  SlotState sa = ParseSlot(region, &a);
  SlotState sb = ParseSlot(region + kSlotSize, &b);
  const HeaderSlot* chosen = nullptr;
  if (sa == SlotState::kValid && sb == SlotState::kValid) {
    chosen = b.generation > a.generation ? &b : &a;
  } else if (sa == SlotState::kValid) {
    chosen = &a;
  } else if (sb == SlotState::kValid) {
    chosen = &b;
  }
  if (chosen == nullptr) {
    return IntegrityError(path, std::string("header has no valid slot (slot A: ") + Describe(sa) +
                                    ", slot B: " + Describe(sb) + ")");
  }
  *out = *chosen;
  if (active != nullptr) *active = chosen == &b ? 1 : 0;
  return rocksdb::IOStatus::OK();
}

void EncodeFrameAad(const uint8_t file_id[kFileIdSize], uint64_t index, bool final_frame,
                    const FrameHeader& h, uint8_t out[kFrameAadSize]) {
  std::memcpy(out, "EKVF", 4);
  std::memcpy(out + 4, file_id, kFileIdSize);
  PutU64(out + 20, index);
  out[28] = final_frame ? 1 : 0;
  PutU32(out + 29, h.length);
  PutU32(out + 33, h.sync_distance);
}

bool IsImmutableFile(const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  return ends_with(".sst") || ends_with(".blob");
}

ekv_file_kind FileKindOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t name_at = slash == std::string::npos ? 0 : slash + 1;
  if (path.compare(name_at, std::string::npos, "LOCK") == 0) return EKV_FILE_PASSTHROUGH;
  return IsImmutableFile(path) ? EKV_FILE_IMMUTABLE : EKV_FILE_LOG_LIKE;
}

}  // namespace ekv
