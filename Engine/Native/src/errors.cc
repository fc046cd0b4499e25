#include "errors.h"

#include <cstring>

namespace ekv {

namespace {

struct LastError {
  ekv_status code = EKV_OK;
  uint64_t offset = kNoOffset;
  std::string path;
  std::string sentence;
};

// Per thread: RocksDB runs a read on the caller's thread, so the record of a failed read is there
// when RocksDB's status reaches managed code.
thread_local LastError t_last_error;

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}
}  // namespace

rocksdb::IOStatus Annotate(const rocksdb::IOStatus& cause, const std::string& path,
                           const char* doing) {
  std::string msg = cause.ToString();
  // Our own errors already name the path; do not wrap them twice.
  if (msg.find("[ekv:") != std::string::npos) return cause;
  std::string text = path + ": " + doing + ": " + msg;
  rocksdb::IOStatus out;
  if (cause.IsNotFound()) {
    out = rocksdb::IOStatus::NotFound(text);
  } else if (cause.IsPathNotFound()) {
    out = rocksdb::IOStatus::PathNotFound(text);
  } else if (cause.IsNotSupported()) {
    out = rocksdb::IOStatus::NotSupported(text);
  } else if (cause.IsInvalidArgument()) {
    out = rocksdb::IOStatus::InvalidArgument(text);
  } else if (cause.IsNoSpace()) {
    out = rocksdb::IOStatus::NoSpace(text);
  } else {
    out = rocksdb::IOStatus::IOError(text);
  }
  out.SetRetryable(cause.GetRetryable());
  out.SetDataLoss(cause.GetDataLoss());
  out.SetScope(cause.GetScope());
  return out;
}

ekv_status ToEkvStatus(const rocksdb::IOStatus& s) {
  if (s.ok()) return EKV_OK;
  const std::string state = s.getState() != nullptr ? s.getState() : "";
  if (StartsWith(state, kTagIntegrity) || s.IsCorruption()) return EKV_INTEGRITY;
  if (StartsWith(state, kTagKeyUnavailable)) return EKV_KEY_UNAVAILABLE;
  if (StartsWith(state, kTagTornTail)) return EKV_TORN_TAIL;
  if (StartsWith(state, kTagInternal)) return EKV_INTERNAL;
  if (s.IsNotFound() || s.IsPathNotFound()) return EKV_NOT_FOUND;
  if (s.IsNotSupported()) return EKV_NOT_SUPPORTED;
  if (s.IsInvalidArgument()) return EKV_INVALID_ARGUMENT;
  return EKV_IO_ERROR;
}

void RecordError(ekv_status code, const std::string& path, uint64_t offset,
                 const std::string& sentence) noexcept {
  LastError& last = t_last_error;
  last.code = code;
  last.offset = offset;
  try {
    last.path = path;
    last.sentence = sentence;
  } catch (...) {
    last.path.clear();
    last.sentence.clear();
  }
}

bool TakeLastError(ekv_error_info* out) noexcept {
  LastError& last = t_last_error;
  if (last.code == EKV_OK || out == nullptr) return false;
  out->code = last.code;
  out->has_offset = last.offset != kNoOffset ? 1u : 0u;
  out->offset = last.offset != kNoOffset ? last.offset : 0;
  CopyMessage(last.path, out->path, sizeof(out->path));
  CopyMessage(last.sentence, out->message, sizeof(out->message));
  last.code = EKV_OK;
  last.offset = kNoOffset;
  last.path.clear();
  last.sentence.clear();
  return true;
}

void CopyMessage(const std::string& msg, char* buf, uint32_t cap) noexcept {
  if (buf == nullptr || cap == 0) return;
  size_t n = msg.size() < cap - 1 ? msg.size() : cap - 1;
  std::memcpy(buf, msg.data(), n);
  buf[n] = '\0';
}

rocksdb::IOStatus CurrentExceptionStatus(const std::string& path, const char* op) noexcept {
  try {
    try {
      throw;
    } catch (const std::bad_alloc&) {
      return InternalError(path, std::string("out of memory in ") + op);
    } catch (const std::exception& e) {
      return InternalError(path, std::string(op) + ": " + e.what());
    } catch (...) {
      return InternalError(path, std::string("unknown exception in ") + op);
    }
  } catch (...) {
    // Building the message failed (out of memory). A bare status does not allocate.
    return rocksdb::IOStatus::IOError();
  }
}

}  // namespace ekv
