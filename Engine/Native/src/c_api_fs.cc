// extern "C": the file-operation API over the plain or the encrypted FileSystem (ekvfs.h, ABI 2).
#include "c_api_fs.h"

#include <cstring>
#include <functional>
#include <vector>

#include "c_api_util.h"
#include "env_handle.h"

using ekv::CopyMessage;
using ekv::capi::CatchAll;
using ekv::capi::Fail;
using ekv::capi::FromStatus;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

namespace {

constexpr const char* kNullArgs = "a handle, path or buffer argument is null";

// Runs `op` (returning IOStatus) for a valid handle and reports its status.
template <typename Handle, typename Op>
int32_t Run(const char* fn, Handle* h, char* msg, uint32_t cap, Op&& op) noexcept {
  return CatchAll(fn, msg, cap, [&]() -> int32_t {
    if (h == nullptr) return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, cap);
    return FromStatus(op(), msg, cap);
  });
}

// Copies a read result into `buffer` when RocksDB returned it elsewhere (mmap, cache).
void Land(const rocksdb::Slice& got, uint8_t* buffer, uint64_t* read) {
  if (got.size() > 0 && got.data() != reinterpret_cast<const char*>(buffer)) {
    std::memmove(buffer, got.data(), got.size());
  }
  *read = got.size();
}

template <typename File>
int32_t NewFile(const char* fn, ekv_fs* fs, const char* path, File** out, char* msg, uint32_t cap,
                const std::function<IOStatus(ekv_fs*, File*)>& open) noexcept {
  return CatchAll(fn, msg, cap, [&]() -> int32_t {
    if (out != nullptr) *out = nullptr;
    if (fs == nullptr || path == nullptr || out == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, cap);
    }
    std::unique_ptr<File> f(new File());
    f->fs = fs->fs;
    IOStatus s = open(fs, f.get());
    if (s.ok()) *out = f.release();
    return FromStatus(s, msg, cap);
  });
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_fs_open(ekv_env* env, int32_t encrypted, ekv_fs** out, char* msg,
                            uint32_t msg_cap) noexcept {
  return CatchAll("ekv_fs_open", msg, msg_cap, [&]() -> int32_t {
    if (out != nullptr) *out = nullptr;
    if (env == nullptr || env->fs == nullptr || out == nullptr || encrypted < 0 || encrypted > 1) {
      return Fail(EKV_INVALID_ARGUMENT, "env, out and encrypted (0 or 1) are required", msg,
                  msg_cap);
    }
    std::unique_ptr<ekv_fs> fs(new ekv_fs());
    if (encrypted == 1) {
      fs->fs = env->fs;
    } else {
      fs->fs = env->fs->context()->base;
    }
    *out = fs.release();
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API void ekv_fs_destroy(ekv_fs* fs) noexcept { delete fs; }

EKV_API int32_t ekv_fs_new_writable(ekv_fs* fs, const char* path, ekv_wfile** out, char* msg,
                                    uint32_t msg_cap) noexcept {
  return NewFile<ekv_wfile>(
      "ekv_fs_new_writable", fs, path, out, msg, msg_cap, [&](ekv_fs* h, ekv_wfile* f) {
        return h->fs->NewWritableFile(path, rocksdb::FileOptions(), &f->file, nullptr);
      });
}

EKV_API int32_t ekv_fs_reopen_writable(ekv_fs* fs, const char* path, ekv_wfile** out, char* msg,
                                       uint32_t msg_cap) noexcept {
  return NewFile<ekv_wfile>(
      "ekv_fs_reopen_writable", fs, path, out, msg, msg_cap, [&](ekv_fs* h, ekv_wfile* f) {
        return h->fs->ReopenWritableFile(path, rocksdb::FileOptions(), &f->file, nullptr);
      });
}

EKV_API int32_t ekv_fs_reuse_writable(ekv_fs* fs, const char* path, const char* old_path,
                                      ekv_wfile** out, char* msg, uint32_t msg_cap) noexcept {
  if (old_path == nullptr) return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  return NewFile<ekv_wfile>(
      "ekv_fs_reuse_writable", fs, path, out, msg, msg_cap, [&](ekv_fs* h, ekv_wfile* f) {
        return h->fs->ReuseWritableFile(path, old_path, rocksdb::FileOptions(), &f->file, nullptr);
      });
}

EKV_API int32_t ekv_wfile_append(ekv_wfile* f, const uint8_t* data, uint64_t length, char* msg,
                                 uint32_t msg_cap) noexcept {
  if (data == nullptr && length > 0) return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  return Run("ekv_wfile_append", f, msg, msg_cap, [&] {
    return f->file->Append(
        rocksdb::Slice(reinterpret_cast<const char*>(data), static_cast<size_t>(length)),
        IOOptions(), nullptr);
  });
}

EKV_API int32_t ekv_wfile_flush(ekv_wfile* f, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_flush", f, msg, msg_cap,
             [&] { return f->file->Flush(IOOptions(), nullptr); });
}

EKV_API int32_t ekv_wfile_sync(ekv_wfile* f, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_sync", f, msg, msg_cap,
             [&] { return f->file->Sync(IOOptions(), nullptr); });
}

EKV_API int32_t ekv_wfile_fsync(ekv_wfile* f, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_fsync", f, msg, msg_cap,
             [&] { return f->file->Fsync(IOOptions(), nullptr); });
}

EKV_API int32_t ekv_wfile_range_sync(ekv_wfile* f, uint64_t offset, uint64_t length, char* msg,
                                     uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_range_sync", f, msg, msg_cap,
             [&] { return f->file->RangeSync(offset, length, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_wfile_truncate(ekv_wfile* f, uint64_t size, char* msg,
                                   uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_truncate", f, msg, msg_cap,
             [&] { return f->file->Truncate(size, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_wfile_close(ekv_wfile* f, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_wfile_close", f, msg, msg_cap,
             [&] { return f->file->Close(IOOptions(), nullptr); });
}

EKV_API uint64_t ekv_wfile_size(ekv_wfile* f) noexcept {
  try {
    return f == nullptr ? 0 : f->file->GetFileSize(IOOptions(), nullptr);
  } catch (...) {
    return 0;
  }
}

EKV_API void ekv_wfile_destroy(ekv_wfile* f) noexcept {
  try {
    delete f;
  } catch (...) {
  }
}

EKV_API int32_t ekv_fs_new_sequential(ekv_fs* fs, const char* path, ekv_sfile** out, char* msg,
                                      uint32_t msg_cap) noexcept {
  return NewFile<ekv_sfile>(
      "ekv_fs_new_sequential", fs, path, out, msg, msg_cap, [&](ekv_fs* h, ekv_sfile* f) {
        return h->fs->NewSequentialFile(path, rocksdb::FileOptions(), &f->file, nullptr);
      });
}

EKV_API int32_t ekv_sfile_read(ekv_sfile* f, uint8_t* buffer, uint64_t length, uint64_t* read,
                               char* msg, uint32_t msg_cap) noexcept {
  if (read == nullptr || (buffer == nullptr && length > 0)) {
    return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  }
  *read = 0;
  return Run("ekv_sfile_read", f, msg, msg_cap, [&] {
    rocksdb::Slice got;
    IOStatus s = f->file->Read(static_cast<size_t>(length), IOOptions(), &got,
                               reinterpret_cast<char*>(buffer), nullptr);
    if (s.ok()) Land(got, buffer, read);
    return s;
  });
}

EKV_API int32_t ekv_sfile_skip(ekv_sfile* f, uint64_t n, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_sfile_skip", f, msg, msg_cap, [&] { return f->file->Skip(n); });
}

EKV_API int32_t ekv_sfile_positioned_read(ekv_sfile* f, uint64_t offset, uint8_t* buffer,
                                          uint64_t length, uint64_t* read, char* msg,
                                          uint32_t msg_cap) noexcept {
  if (read == nullptr || (buffer == nullptr && length > 0)) {
    return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  }
  *read = 0;
  return Run("ekv_sfile_positioned_read", f, msg, msg_cap, [&] {
    // PosixSequentialFile::PositionedRead asserts use_direct_io(): RocksDB only calls it then.
    if (!f->file->use_direct_io()) {
      return IOStatus::NotSupported("PositionedRead needs a direct-I/O sequential file");
    }
    rocksdb::Slice got;
    IOStatus s = f->file->PositionedRead(offset, static_cast<size_t>(length), IOOptions(), &got,
                                         reinterpret_cast<char*>(buffer), nullptr);
    if (s.ok()) Land(got, buffer, read);
    return s;
  });
}

EKV_API void ekv_sfile_destroy(ekv_sfile* f) noexcept { delete f; }

EKV_API int32_t ekv_fs_new_random(ekv_fs* fs, const char* path, ekv_rfile** out, char* msg,
                                  uint32_t msg_cap) noexcept {
  return NewFile<ekv_rfile>(
      "ekv_fs_new_random", fs, path, out, msg, msg_cap, [&](ekv_fs* h, ekv_rfile* f) {
        return h->fs->NewRandomAccessFile(path, rocksdb::FileOptions(), &f->file, nullptr);
      });
}

EKV_API int32_t ekv_rfile_read(ekv_rfile* f, uint64_t offset, uint8_t* buffer, uint64_t length,
                               uint64_t* read, char* msg, uint32_t msg_cap) noexcept {
  if (read == nullptr || (buffer == nullptr && length > 0)) {
    return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  }
  *read = 0;
  return Run("ekv_rfile_read", f, msg, msg_cap, [&] {
    rocksdb::Slice got;
    IOStatus s = f->file->Read(offset, static_cast<size_t>(length), IOOptions(), &got,
                               reinterpret_cast<char*>(buffer), nullptr);
    if (s.ok()) Land(got, buffer, read);
    return s;
  });
}

EKV_API int32_t ekv_rfile_multi_read(ekv_rfile* f, ekv_read_request* requests, uint64_t count,
                                     char* msg, uint32_t msg_cap) noexcept {
  if (requests == nullptr && count > 0) return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
  return CatchAll("ekv_rfile_multi_read", msg, msg_cap, [&]() -> int32_t {
    if (f == nullptr) return Fail(EKV_INVALID_ARGUMENT, kNullArgs, msg, msg_cap);
    std::vector<rocksdb::FSReadRequest> reqs(static_cast<size_t>(count));
    for (size_t i = 0; i < reqs.size(); ++i) {
      reqs[i].offset = requests[i].offset;
      reqs[i].len = static_cast<size_t>(requests[i].length);
      reqs[i].scratch = reinterpret_cast<char*>(requests[i].buffer);
    }
    IOStatus s = f->file->MultiRead(reqs.data(), reqs.size(), IOOptions(), nullptr);
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    int32_t first = EKV_OK;
    for (size_t i = 0; i < reqs.size(); ++i) {
      requests[i].read = 0;
      requests[i].status = ekv::ToEkvStatus(reqs[i].status);
      if (reqs[i].status.ok()) {
        Land(reqs[i].result, requests[i].buffer, &requests[i].read);
      } else if (first == EKV_OK) {
        first = FromStatus(reqs[i].status, msg, msg_cap);
      }
    }
    if (first == EKV_OK) CopyMessage("", msg, msg_cap);
    return first;
  });
}

EKV_API int32_t ekv_rfile_prefetch(ekv_rfile* f, uint64_t offset, uint64_t length, char* msg,
                                   uint32_t msg_cap) noexcept {
  return Run("ekv_rfile_prefetch", f, msg, msg_cap, [&] {
    return f->file->Prefetch(offset, static_cast<size_t>(length), IOOptions(), nullptr);
  });
}

EKV_API void ekv_rfile_destroy(ekv_rfile* f) noexcept { delete f; }

}  // extern "C"
