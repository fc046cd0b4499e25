// extern "C": file-system operations of the file-operation API (ekvfs.h, ABI 2).
#include <cstring>
#include <vector>

#include "c_api_fs.h"
#include "c_api_util.h"

using ekv::CopyMessage;
using ekv::capi::CatchAll;
using ekv::capi::Fail;
using ekv::capi::FromStatus;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

namespace {

// Runs `op` (returning IOStatus) when the fs handle and every path are non-null.
template <typename Op>
int32_t Run(const char* fn, ekv_fs* fs, std::initializer_list<const char*> paths, char* msg,
            uint32_t cap, Op&& op) noexcept {
  return CatchAll(fn, msg, cap, [&]() -> int32_t {
    bool ok = fs != nullptr;
    for (const char* p : paths) ok = ok && p != nullptr;
    if (!ok) return Fail(EKV_INVALID_ARGUMENT, "fs and path arguments are required", msg, cap);
    return FromStatus(op(), msg, cap);
  });
}

void PutLe(std::vector<uint8_t>* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_fs_file_size(ekv_fs* fs, const char* path, uint64_t* size, char* msg,
                                 uint32_t msg_cap) noexcept {
  if (size == nullptr) return Fail(EKV_INVALID_ARGUMENT, "size is required", msg, msg_cap);
  *size = 0;
  return Run("ekv_fs_file_size", fs, {path}, msg, msg_cap,
             [&] { return fs->fs->GetFileSize(path, IOOptions(), size, nullptr); });
}

EKV_API int32_t ekv_fs_file_exists(ekv_fs* fs, const char* path, char* msg,
                                   uint32_t msg_cap) noexcept {
  return Run("ekv_fs_file_exists", fs, {path}, msg, msg_cap,
             [&] { return fs->fs->FileExists(path, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_fs_get_children(ekv_fs* fs, const char* dir, int32_t with_sizes,
                                    uint8_t* buffer, uint64_t cap, uint64_t* needed, char* msg,
                                    uint32_t msg_cap) noexcept {
  if (needed == nullptr || (buffer == nullptr && cap > 0)) {
    return Fail(EKV_INVALID_ARGUMENT, "needed (and a buffer when cap > 0) are required", msg,
                msg_cap);
  }
  *needed = 0;
  return CatchAll("ekv_fs_get_children", msg, msg_cap, [&]() -> int32_t {
    if (fs == nullptr || dir == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "fs and dir are required", msg, msg_cap);
    }
    std::vector<rocksdb::FileAttributes> entries;
    IOStatus s;
    if (with_sizes != 0) {
      s = fs->fs->GetChildrenFileAttributes(dir, IOOptions(), &entries, nullptr);
    } else {
      std::vector<std::string> names;
      s = fs->fs->GetChildren(dir, IOOptions(), &names, nullptr);
      for (std::string& n : names) {
        rocksdb::FileAttributes a;
        a.name = std::move(n);
        a.size_bytes = UINT64_MAX;
        entries.push_back(std::move(a));
      }
    }
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    std::vector<uint8_t> out;
    for (const rocksdb::FileAttributes& a : entries) {
      PutLe(&out, a.size_bytes, 8);
      PutLe(&out, a.name.size(), 4);
      out.insert(out.end(), a.name.begin(), a.name.end());
    }
    *needed = out.size();
    if (cap < out.size()) {
      return Fail(EKV_INVALID_ARGUMENT,
                  "buffer too small: " + std::to_string(out.size()) + " bytes needed", msg,
                  msg_cap);
    }
    if (!out.empty()) std::memcpy(buffer, out.data(), out.size());
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_fs_rename(ekv_fs* fs, const char* src, const char* dst, char* msg,
                              uint32_t msg_cap) noexcept {
  return Run("ekv_fs_rename", fs, {src, dst}, msg, msg_cap,
             [&] { return fs->fs->RenameFile(src, dst, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_fs_link(ekv_fs* fs, const char* src, const char* dst, char* msg,
                            uint32_t msg_cap) noexcept {
  return Run("ekv_fs_link", fs, {src, dst}, msg, msg_cap,
             [&] { return fs->fs->LinkFile(src, dst, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_fs_delete(ekv_fs* fs, const char* path, char* msg, uint32_t msg_cap) noexcept {
  return Run("ekv_fs_delete", fs, {path}, msg, msg_cap,
             [&] { return fs->fs->DeleteFile(path, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_fs_truncate(ekv_fs* fs, const char* path, uint64_t size, char* msg,
                                uint32_t msg_cap) noexcept {
  return Run("ekv_fs_truncate", fs, {path}, msg, msg_cap, [&] {
    return fs->fs->Truncate(path, static_cast<size_t>(size), IOOptions(), nullptr);
  });
}

EKV_API int32_t ekv_fs_create_dir(ekv_fs* fs, const char* path, int32_t if_missing, char* msg,
                                  uint32_t msg_cap) noexcept {
  return Run("ekv_fs_create_dir", fs, {path}, msg, msg_cap, [&] {
    return if_missing != 0 ? fs->fs->CreateDirIfMissing(path, IOOptions(), nullptr)
                           : fs->fs->CreateDir(path, IOOptions(), nullptr);
  });
}

EKV_API int32_t ekv_fs_delete_dir(ekv_fs* fs, const char* path, char* msg,
                                  uint32_t msg_cap) noexcept {
  return Run("ekv_fs_delete_dir", fs, {path}, msg, msg_cap,
             [&] { return fs->fs->DeleteDir(path, IOOptions(), nullptr); });
}

EKV_API int32_t ekv_fs_lock(ekv_fs* fs, const char* path, ekv_lock** out, char* msg,
                            uint32_t msg_cap) noexcept {
  if (out == nullptr) return Fail(EKV_INVALID_ARGUMENT, "out is required", msg, msg_cap);
  *out = nullptr;
  return Run("ekv_fs_lock", fs, {path}, msg, msg_cap, [&] {
    std::unique_ptr<ekv_lock> lock(new ekv_lock());
    lock->fs = fs->fs;
    IOStatus s = fs->fs->LockFile(path, IOOptions(), &lock->lock, nullptr);
    if (s.ok()) *out = lock.release();
    return s;
  });
}

EKV_API int32_t ekv_fs_unlock(ekv_lock* lock, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_fs_unlock", msg, msg_cap, [&]() -> int32_t {
    if (lock == nullptr) return Fail(EKV_INVALID_ARGUMENT, "lock is required", msg, msg_cap);
    std::unique_ptr<ekv_lock> owned(lock);
    IOStatus s = owned->fs->UnlockFile(owned->lock, IOOptions(), nullptr);
    return FromStatus(s, msg, msg_cap);
  });
}

}  // extern "C"
