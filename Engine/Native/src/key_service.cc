#include "key_service.h"

#include <openssl/rand.h>

#include <cstring>

#include "errors.h"

namespace ekv {

namespace {

constexpr uint32_t kMessageCap = 512;

// Turns a callback failure into the status RocksDB sees. The callback's own message is kept:
// it is what tells an operator *why* (store locked, namespace shredded, KMS denied, ...).
rocksdb::IOStatus CallbackFailure(const std::string& path, const char* callback, int32_t rc,
                                  const char* msg) {
  std::string detail = msg[0] != '\0' ? msg : "(no message)";
  switch (rc) {
    case EKV_KEY_UNAVAILABLE:
      return KeyUnavailable(path, detail);
    case EKV_INTEGRITY:
      return IntegrityError(
          path, std::string("header key envelope rejected by ") + callback + ": " + detail);
    case EKV_NOT_FOUND:
      return KeyUnavailable(path, std::string("key not found: ") + detail);
    case EKV_NAMESPACE_DELETED:  // from a callback other than new_file_key (see NewFileKey)
      return KeyUnavailable(path, detail);
    default:
      return rocksdb::IOStatus::IOError(path + ": " + callback + " callback failed (status " +
                                        std::to_string(rc) + "): " + detail);
  }
}

}  // namespace

rocksdb::IOStatus KeyService::NewFileKey(const std::string& path, uint32_t frame_size,
                                         HeaderSlot* slot, SecretKey* dek) const {
  if (cb_.new_file_key == nullptr) return InternalError(path, "no new_file_key callback");
  HeaderSlot s;
  s.frame_size = frame_size;
  s.format_version = FormatVersionForNewFile(path);
  s.generation = 1;
  if (RAND_bytes(s.file_id, kFileIdSize) != 1) {
    return InternalError(path, "RAND_bytes failed for the file id");
  }
  uint8_t aad[kSlotAadSize];
  EncodeSlotAad(s, aad);
  char msg[kMessageCap] = {0};
  uint32_t env_len = 0;
  int32_t rc = cb_.new_file_key(cb_.ctx, path.c_str(), aad, kSlotAadSize, dek->data(), s.envelope,
                                kEnvelopeMax, &env_len, msg, kMessageCap);
  msg[kMessageCap - 1] = '\0';
  if (rc == EKV_NAMESPACE_DELETED) {
    // Only RocksDB finishing a flush or compaction of a deleted namespace's dropped column family
    // asks for such a file. ColumnFamilyDropped makes it end that job quietly; any other error
    // would stop the whole database with a background error.
    return rocksdb::status_to_io_status(rocksdb::Status::ColumnFamilyDropped(
        path + ": namespace deleted: " + (msg[0] != '\0' ? msg : "(no message)")));
  }
  if (rc != EKV_OK) return CallbackFailure(path, "new_file_key", rc, msg);
  if (env_len == 0 || env_len > kEnvelopeMax) {
    return InternalError(path, "new_file_key returned an envelope of " + std::to_string(env_len) +
                                   " bytes (allowed 1..400)");
  }
  s.envelope_len = static_cast<uint16_t>(env_len);
  *slot = s;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus KeyService::OpenFileKey(const std::string& path, const HeaderSlot& slot,
                                          SecretKey* dek) const {
  if (cb_.open_file_key == nullptr) return InternalError(path, "no open_file_key callback");
  uint8_t aad[kSlotAadSize];
  EncodeSlotAad(slot, aad);
  char msg[kMessageCap] = {0};
  int32_t rc = cb_.open_file_key(cb_.ctx, path.c_str(), aad, kSlotAadSize, slot.envelope,
                                 slot.envelope_len, dek->data(), msg, kMessageCap);
  msg[kMessageCap - 1] = '\0';
  if (rc != EKV_OK) return CallbackFailure(path, "open_file_key", rc, msg);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus KeyService::RewrapFileKey(const std::string& path, const HeaderSlot& old,
                                            HeaderSlot* next) const {
  if (cb_.rewrap_file_key == nullptr) {
    return InternalError(path, "no rewrap_file_key callback was registered");
  }
  if (old.generation == UINT64_MAX) return InternalError(path, "header generation exhausted");
  HeaderSlot s = old;
  s.generation = old.generation + 1;
  std::memset(s.envelope, 0, sizeof(s.envelope));
  uint8_t old_aad[kSlotAadSize], new_aad[kSlotAadSize];
  EncodeSlotAad(old, old_aad);
  EncodeSlotAad(s, new_aad);
  char msg[kMessageCap] = {0};
  uint32_t env_len = 0;
  int32_t rc = cb_.rewrap_file_key(cb_.ctx, path.c_str(), old_aad, kSlotAadSize, old.envelope,
                                   old.envelope_len, new_aad, kSlotAadSize, s.envelope,
                                   kEnvelopeMax, &env_len, msg, kMessageCap);
  msg[kMessageCap - 1] = '\0';
  if (rc != EKV_OK) return CallbackFailure(path, "rewrap_file_key", rc, msg);
  if (env_len == 0 || env_len > kEnvelopeMax) {
    return InternalError(path, "rewrap_file_key returned an envelope of " +
                                   std::to_string(env_len) + " bytes (allowed 1..400)");
  }
  s.envelope_len = static_cast<uint16_t>(env_len);
  *next = s;
  return rocksdb::IOStatus::OK();
}

}  // namespace ekv
