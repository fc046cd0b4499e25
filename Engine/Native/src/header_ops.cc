#include "header_ops.h"

#include <openssl/crypto.h>

#include <cstring>

#include "errors.h"

namespace ekv {

namespace {

rocksdb::IOStatus ReadRegion(rocksdb::FSRandomRWFile* file, const std::string& path,
                             uint64_t physical, ActiveHeader* out) {
  out->physical_size = physical;
  if (physical == 0) {
    return rocksdb::IOStatus::InvalidArgument(path + ": the file is empty and has no header");
  }
  if (physical < kHeaderRegionSize) {
    return IntegrityError(
        path, "header truncated (" + std::to_string(physical) + " of 1024 bytes present)");
  }
  uint8_t region[kHeaderRegionSize];
  rocksdb::Slice got;
  rocksdb::IOStatus s = file->Read(0, sizeof(region), rocksdb::IOOptions(), &got,
                                   reinterpret_cast<char*>(region), nullptr);
  if (!s.ok()) return Annotate(s, path, "read header");
  if (got.data() != reinterpret_cast<char*>(region)) std::memcpy(region, got.data(), got.size());
  return DecodeHeaderRegion(path, region, got.size(), &out->slot, &out->active);
}

rocksdb::IOStatus OpenHeaderFile(const FsContext& ctx, const std::string& path,
                                 std::unique_ptr<rocksdb::FSRandomRWFile>* file,
                                 uint64_t* physical) {
  // Check existence first: NewRandomRWFile would create a missing file.
  rocksdb::IOStatus s = ctx.base->GetFileSize(path, rocksdb::IOOptions(), physical, nullptr);
  if (!s.ok()) return Annotate(s, path, "get physical size");
  s = ctx.base->NewRandomRWFile(path, BaseFileOptions(rocksdb::FileOptions()), file, nullptr);
  return s.ok() ? s : Annotate(s, path, "open header");
}

}  // namespace

rocksdb::IOStatus ReadActiveHeader(const FsContext& ctx, const std::string& path,
                                   ActiveHeader* out) {
  uint64_t physical = 0;
  std::unique_ptr<rocksdb::FSRandomRWFile> file;
  rocksdb::IOStatus s = OpenHeaderFile(ctx, path, &file, &physical);
  if (s.ok()) s = ReadRegion(file.get(), path, physical, out);
  if (file != nullptr) file->Close(rocksdb::IOOptions(), nullptr).PermitUncheckedError();
  return s;
}

rocksdb::IOStatus RewrapHeader(const FsContext& ctx, const std::string& path,
                               uint64_t* new_generation) {
  return RewrapHeaderWith(ctx, ctx.keys, path, new_generation);
}

rocksdb::IOStatus RewrapHeaderWith(const FsContext& ctx, const KeyService& keys,
                                   const std::string& path, uint64_t* new_generation) {
  std::lock_guard<std::mutex> lock(ctx.rewrap_mu);
  uint64_t physical = 0;
  std::unique_ptr<rocksdb::FSRandomRWFile> file;
  rocksdb::IOStatus s = OpenHeaderFile(ctx, path, &file, &physical);
  if (!s.ok()) return s;
  ActiveHeader cur;
  s = ReadRegion(file.get(), path, physical, &cur);
  if (!s.ok()) return s;

  // The old envelope must open (no re-wrap of a header that does not authenticate), and the new
  // one must hold the very same DEK: a wrong DEK would make every frame unreadable.
  SecretKey old_dek, new_dek;
  s = keys.OpenFileKey(path, cur.slot, &old_dek);
  if (!s.ok()) return s;
  HeaderSlot next;
  s = keys.RewrapFileKey(path, cur.slot, &next);
  if (!s.ok()) return s;
  s = keys.OpenFileKey(path, next, &new_dek);
  if (!s.ok()) return s;
  if (CRYPTO_memcmp(old_dek.data(), new_dek.data(), kDekSize) != 0) {
    return InternalError(path, "rewrap_file_key returned an envelope for a different DEK");
  }

  uint8_t encoded[kSlotSize];
  EncodeSlot(next, encoded);
  const uint64_t offset = cur.active == 0 ? kSlotSize : 0;
  s = file->Write(offset, rocksdb::Slice(reinterpret_cast<const char*>(encoded), kSlotSize),
                  rocksdb::IOOptions(), nullptr);
  if (s.ok()) s = file->Fsync(rocksdb::IOOptions(), nullptr);
  rocksdb::IOStatus c = file->Close(rocksdb::IOOptions(), nullptr);
  if (s.ok()) s = c;
  if (!s.ok()) return Annotate(s, path, "write re-wrapped header slot");
  if (new_generation != nullptr) *new_generation = next.generation;
  return rocksdb::IOStatus::OK();
}

}  // namespace ekv
