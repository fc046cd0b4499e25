// Error vocabulary shared by the file system and the C API.
//
// RocksDB only sees IOStatus; the C API only sees ekv_status. Both are derived from the same
// IOStatus values, whose messages carry a stable tag so managed code (and humans reading a
// RocksDB error) can tell tampering from a locked key from an I/O failure:
//   Corruption "[ekv:integrity] <path>: ..."        -> EKV_INTEGRITY
//   IOError    "[ekv:key-unavailable] <path>: ..."  -> EKV_KEY_UNAVAILABLE
//   IOError    "[ekv:torn-tail] <path>: ..."        -> EKV_TORN_TAIL (C API only)
//   IOError    "[ekv:internal] <path>: ..."         -> EKV_INTERNAL
// The tags are for people reading a RocksDB error. Managed code does not parse them: every helper
// below also records the typed detail (code, path, file offset, sentence) as the calling thread's
// last error, which managed code takes with ekv_last_error_take right after a failed call or a
// RocksDbException on the same thread.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "ekvfs.h"
#include "rocksdb/io_status.h"

namespace ekv {

inline constexpr const char* kTagIntegrity = "[ekv:integrity] ";
inline constexpr const char* kTagKeyUnavailable = "[ekv:key-unavailable] ";
inline constexpr const char* kTagTornTail = "[ekv:torn-tail] ";
inline constexpr const char* kTagInternal = "[ekv:internal] ";

inline constexpr uint64_t kNoOffset = UINT64_MAX;

// Records the typed detail of an error as this thread's last error (replacing an earlier one).
// `sentence` is "<path>: <what>". Never throws: on allocation failure the record keeps only the
// code.
void RecordError(ekv_status code, const std::string& path, uint64_t offset,
                 const std::string& sentence) noexcept;

// Copies this thread's last error into `out` and clears it; false (out untouched) when none.
bool TakeLastError(ekv_error_info* out) noexcept;

// The same for the latest error recorded on any thread (ekv_last_error_take_any_thread).
bool TakeAnyThreadLastError(ekv_error_info* out) noexcept;

inline rocksdb::IOStatus IntegrityError(const std::string& path, const std::string& what,
                                        uint64_t offset = kNoOffset) {
  const std::string sentence = path + ": " + what;
  RecordError(EKV_INTEGRITY, path, offset, sentence);
  return rocksdb::IOStatus::Corruption(kTagIntegrity + sentence);
}

inline rocksdb::IOStatus KeyUnavailable(const std::string& path, const std::string& what) {
  const std::string sentence = path + ": " + what;
  RecordError(EKV_KEY_UNAVAILABLE, path, kNoOffset, sentence);
  return rocksdb::IOStatus::IOError(kTagKeyUnavailable + sentence);
}

inline rocksdb::IOStatus TornTail(const std::string& path, const std::string& what) {
  const std::string sentence = path + ": " + what;
  RecordError(EKV_TORN_TAIL, path, kNoOffset, sentence);
  return rocksdb::IOStatus::IOError(kTagTornTail + sentence);
}

inline rocksdb::IOStatus InternalError(const std::string& path, const std::string& what) {
  const std::string sentence = path + ": " + what;
  RecordError(EKV_INTERNAL, path, kNoOffset, sentence);
  return rocksdb::IOStatus::IOError(kTagInternal + sentence);
}

// Prefixes a failure of the underlying file system with what we were doing and the path, and
// keeps its code (NotFound stays NotFound so RocksDB's existence checks still work).
rocksdb::IOStatus Annotate(const rocksdb::IOStatus& cause, const std::string& path,
                           const char* doing);

// Maps a status produced by this library (or passed through from RocksDB) to ekv_status.
ekv_status ToEkvStatus(const rocksdb::IOStatus& s);

// Copies a NUL-terminated message into a caller buffer, truncating. Safe with cap == 0.
void CopyMessage(const std::string& msg, char* buf, uint32_t cap) noexcept;

// Converts the exception currently being handled into an IOStatus. Call only from a catch
// block. Never throws: if even building the message fails, returns a bare IOError.
rocksdb::IOStatus CurrentExceptionStatus(const std::string& path, const char* op) noexcept;

// Runs `body` (which returns IOStatus) and converts any escaping C++ exception into an
// IOStatus, because RocksDB is not exception-safe and must never see one.
template <typename Body>
rocksdb::IOStatus Guarded(const std::string& path, const char* op, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return CurrentExceptionStatus(path, op);
  }
}

}  // namespace ekv
