#include "errors.h"

#include <atomic>
#include <cstring>
#include <mutex>

namespace ekv {

namespace {

struct LastError {
  uint64_t seq = 0;
  ekv_status code = EKV_OK;
  uint64_t offset = kNoOffset;
  std::string path;
  std::string sentence;
};

// Per thread: RocksDB runs a read on the caller's thread, so the record of a failed read is there
// when RocksDB's status reaches managed code.
thread_local LastError t_last_error;

// The latest record of any thread, for failures RocksDB met on one of its own threads (opening
// table files in parallel at DB open, background flushes and compactions) and reported on the
// caller's thread without a record there.
std::mutex g_last_error_mu;
LastError g_last_error;
std::atomic<uint64_t> g_error_seq{0};

void Assign(LastError* to, uint64_t seq, ekv_status code, uint64_t offset, const std::string& path,
            const std::string& sentence) noexcept {
  to->seq = seq;
  to->code = code;
  to->offset = offset;
  try {
    to->path = path;
    to->sentence = sentence;
  } catch (...) {
    to->path.clear();
    to->sentence.clear();
  }
}

bool Take(LastError* from, ekv_error_info* out) noexcept {
  if (from->code == EKV_OK || out == nullptr) return false;
  out->code = from->code;
  out->has_offset = from->offset != kNoOffset ? 1u : 0u;
  out->offset = from->offset != kNoOffset ? from->offset : 0;
  CopyMessage(from->path, out->path, sizeof(out->path));
  CopyMessage(from->sentence, out->message, sizeof(out->message));
  from->code = EKV_OK;
  from->offset = kNoOffset;
  from->path.clear();
  from->sentence.clear();
  return true;
}

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
  const uint64_t seq = g_error_seq.fetch_add(1, std::memory_order_relaxed) + 1;
  Assign(&t_last_error, seq, code, offset, path, sentence);
  std::lock_guard<std::mutex> lock(g_last_error_mu);
  Assign(&g_last_error, seq, code, offset, path, sentence);
}

bool TakeLastError(ekv_error_info* out) noexcept {
  const uint64_t seq = t_last_error.seq;
  if (!Take(&t_last_error, out)) return false;
  // The same failure must not be taken again as another thread's.
  std::lock_guard<std::mutex> lock(g_last_error_mu);
  if (g_last_error.seq == seq) {
    ekv_error_info ignored;
    Take(&g_last_error, &ignored);
  }
  return true;
}

bool TakeAnyThreadLastError(ekv_error_info* out) noexcept {
  std::lock_guard<std::mutex> lock(g_last_error_mu);
  return Take(&g_last_error, out);
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
