// The extern "C" surface of ekvfs.h. Every function is noexcept and catches everything:
// exceptions must never reach managed code or RocksDB.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "ekvfs.h"
#include "env_handle.h"
#include "errors.h"
#include "format.h"
#include "rocksdb/c.h"
#include "rocksdb/version.h"
#include "writable_file.h"

using ekv::CopyMessage;

namespace {

int32_t Fail(ekv_status code, const std::string& msg, char* buf, uint32_t cap) noexcept {
  CopyMessage(msg, buf, cap);
  return code;
}

int32_t FromStatus(const rocksdb::IOStatus& s, char* buf, uint32_t cap) noexcept {
  if (s.ok()) {
    CopyMessage("", buf, cap);
    return EKV_OK;
  }
  try {
    return Fail(ekv::ToEkvStatus(s), s.ToString(), buf, cap);
  } catch (...) {
    return Fail(EKV_INTERNAL, "out of memory while reporting an error", buf, cap);
  }
}

// Runs `body` (returning int32_t) and turns exceptions into EKV_INTERNAL.
template <typename Body>
int32_t CatchAll(const char* fn, char* msg, uint32_t cap, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(EKV_INTERNAL, std::string(fn) + ": out of memory", msg, cap);
  } catch (const std::exception& e) {
    try {
      return Fail(EKV_INTERNAL, std::string(fn) + ": " + e.what(), msg, cap);
    } catch (...) {
      return Fail(EKV_INTERNAL, "exception", msg, cap);
    }
  } catch (...) {
    return Fail(EKV_INTERNAL, "unknown exception", msg, cap);
  }
}

// Shared body of ekv_env_create and ekv_env_create_on_mem_fs; `shared_mem` is null unless the env
// goes over an ekv_mem_fs.
int32_t CreateEnv(const ekv_callbacks* callbacks, const ekv_env_options* options,
                  std::shared_ptr<rocksdb::Env> shared_mem, ekv_env** out, char* msg,
                  uint32_t msg_cap) {
  if (out == nullptr) return Fail(EKV_INVALID_ARGUMENT, "out is null", msg, msg_cap);
  *out = nullptr;
  if (callbacks == nullptr || callbacks->new_file_key == nullptr ||
      callbacks->open_file_key == nullptr) {
    return Fail(EKV_INVALID_ARGUMENT, "both key callbacks are required", msg, msg_cap);
  }
  uint32_t frame_size = ekv::kDefaultFrameSize;
  bool mem = shared_mem != nullptr;
  if (options != nullptr) {
    if (options->frame_size != 0) frame_size = options->frame_size;
    if (options->use_mem_env > 1) {
      return Fail(EKV_INVALID_ARGUMENT, "use_mem_env must be 0 or 1", msg, msg_cap);
    }
    mem = mem || options->use_mem_env == 1;
  }
  if (!ekv::ValidFrameSize(frame_size)) {
    return Fail(
        EKV_INVALID_ARGUMENT,
        "frame_size must be a power of two in 512..1048576, got " + std::to_string(frame_size), msg,
        msg_cap);
  }
  std::unique_ptr<ekv_env> env(new ekv_env());
  std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default();
  if (mem) {
    if (shared_mem != nullptr) {
      env->mem_base = std::move(shared_mem);
    } else {
      env->mem_base.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    }
    if (env->mem_base == nullptr) {
      return Fail(EKV_INTERNAL, "this librocksdb has no in-memory env", msg, msg_cap);
    }
    base = env->mem_base->GetFileSystem();
  }
  auto ctx = std::make_shared<ekv::FsContext>(base, *callbacks, frame_size);
  ctx->owner_only = !mem;
  env->fs = std::make_shared<ekv::EncryptedFileSystem>(ctx);
  env->env = rocksdb::NewCompositeEnv(env->fs);
  if (env->env == nullptr) return Fail(EKV_INTERNAL, "NewCompositeEnv failed", msg, msg_cap);
  env->c_env = ekv::bridge::NewCEnv(env->env.get());
  *out = env.release();
  CopyMessage("", msg, msg_cap);
  return EKV_OK;
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_env_create(const ekv_callbacks* callbacks, const ekv_env_options* options,
                               ekv_env** out, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_env_create", msg, msg_cap, [&]() -> int32_t {
    return CreateEnv(callbacks, options, nullptr, out, msg, msg_cap);
  });
}

EKV_API int32_t ekv_mem_fs_create(ekv_mem_fs** out, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_mem_fs_create", msg, msg_cap, [&]() -> int32_t {
    if (out == nullptr) return Fail(EKV_INVALID_ARGUMENT, "out is null", msg, msg_cap);
    *out = nullptr;
    std::unique_ptr<ekv_mem_fs> mem_fs(new ekv_mem_fs());
    mem_fs->mem.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    if (mem_fs->mem == nullptr) {
      return Fail(EKV_INTERNAL, "this librocksdb has no in-memory env", msg, msg_cap);
    }
    *out = mem_fs.release();
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API void ekv_mem_fs_destroy(ekv_mem_fs* mem_fs) noexcept {
  try {
    delete mem_fs;  // envs created over it keep the Env alive through their own reference
  } catch (...) {
    // Destructors here do not throw; nothing sensible to do if one did.
  }
}

EKV_API int32_t ekv_env_create_on_mem_fs(const ekv_callbacks* callbacks,
                                         const ekv_env_options* options, ekv_mem_fs* mem_fs,
                                         ekv_env** out, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_env_create_on_mem_fs", msg, msg_cap, [&]() -> int32_t {
    if (mem_fs == nullptr || mem_fs->mem == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "mem_fs is null", msg, msg_cap);
    }
    return CreateEnv(callbacks, options, mem_fs->mem, out, msg, msg_cap);
  });
}

EKV_API void ekv_env_destroy(ekv_env* env) noexcept {
  if (env == nullptr) return;
  try {
    ekv::bridge::DeleteCEnv(env->c_env);
    env->c_env = nullptr;
    env->env.reset();
    env->fs.reset();
    env->mem_base.reset();
    delete env;
  } catch (...) {
    // Destructors here do not throw; nothing sensible to do if one did.
  }
}

EKV_API void* ekv_env_rocksdb_env(ekv_env* env) noexcept {
  return env == nullptr ? nullptr : env->c_env;
}

EKV_API int32_t ekv_options_set_cf_path(void* rocksdb_options, const char* path,
                                        uint64_t target_size, char* msg,
                                        uint32_t msg_cap) noexcept {
  return CatchAll("ekv_options_set_cf_path", msg, msg_cap, [&]() -> int32_t {
    if (rocksdb_options == nullptr || path == nullptr || path[0] == '\0') {
      return Fail(EKV_INVALID_ARGUMENT, "options and a non-empty path are required", msg, msg_cap);
    }
    ekv::bridge::CfOptionsFromC(rocksdb_options)->cf_paths.emplace_back(path, target_size);
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_options_set_track_wals(void* rocksdb_options, int32_t enabled, char* msg,
                                          uint32_t msg_cap) noexcept {
  return CatchAll("ekv_options_set_track_wals", msg, msg_cap, [&]() -> int32_t {
    if (rocksdb_options == nullptr || enabled < 0 || enabled > 1) {
      return Fail(EKV_INVALID_ARGUMENT, "options and enabled (0 or 1) are required", msg, msg_cap);
    }
    ekv::bridge::DbOptionsFromC(rocksdb_options)->track_and_verify_wals_in_manifest = enabled == 1;
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API void ekv_env_get_stats(ekv_env* env, ekv_stats* out) noexcept {
  if (out == nullptr) return;
  std::memset(out, 0, sizeof(*out));
  if (env == nullptr || env->fs == nullptr) return;
  const ekv::Stats& s = *env->fs->context()->stats;
  out->live_deks = s.live_deks.load(std::memory_order_relaxed);
  out->files_created = s.files_created.load(std::memory_order_relaxed);
  out->files_opened = s.files_opened.load(std::memory_order_relaxed);
  out->frames_sealed = s.frames_sealed.load(std::memory_order_relaxed);
  out->frames_opened = s.frames_opened.load(std::memory_order_relaxed);
  out->integrity_failures = s.integrity_failures.load(std::memory_order_relaxed);
}

EKV_API uint64_t ekv_env_torn_tail_count(ekv_env* env) noexcept {
  if (env == nullptr || env->fs == nullptr) return 0;
  return env->fs->context()->stats->torn_tails.load(std::memory_order_relaxed);
}

EKV_API int32_t ekv_file_check(ekv_env* env, const char* path, uint32_t options,
                               uint64_t* logical_size, uint32_t* file_flags, char* msg,
                               uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_check", msg, msg_cap, [&]() -> int32_t {
    if (logical_size != nullptr) *logical_size = 0;
    if (file_flags != nullptr) *file_flags = 0;
    if (env == nullptr || path == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "env and path are required", msg, msg_cap);
    }
    if ((options & ~(EKV_CHECK_LAST_FRAME_ONLY | EKV_CHECK_REQUIRE_CLOSED)) != 0) {
      return Fail(EKV_INVALID_ARGUMENT, "unknown check options", msg, msg_cap);
    }
    // A log-like file this process is writing: authenticate its stable frames only (those before
    // the writer's tail frame). Bytes after them may be a frame still being written, or one a
    // Truncate rewrites; every frame before is final, so a failure there is reported at once.
    uint64_t physical_limit = UINT64_MAX;
    uint64_t stable_end = 0;
    if (ekv::FileKindOf(path) == EKV_FILE_LOG_LIKE &&
        env->fs->context()->open_sizes.LookupStableEnd(path, &stable_end)) {
      physical_limit = stable_end;
    }
    std::unique_ptr<ekv::FrameReader> reader;
    rocksdb::IOStatus s =
        env->fs->OpenReader(path, rocksdb::FileOptions(), &reader, physical_limit);
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    if ((options & EKV_CHECK_LAST_FRAME_ONLY) == 0) {
      // Read everything: ReadAt authenticates each frame it touches.
      const size_t chunk = size_t{reader->frame_size()} * 64;
      std::string buf(chunk, '\0');
      for (uint64_t off = 0; off < reader->logical_size();) {
        size_t got = 0;
        s = reader->ReadAt(off, chunk, &buf[0], &got);
        if (!s.ok()) return FromStatus(s, msg, msg_cap);
        if (got == 0) break;
        off += got;
      }
      // ... and the empty frames after the last data (a sync marker before the final frame).
      s = reader->AuthenticateTrailingEmptyFrames();
      if (!s.ok()) return FromStatus(s, msg, msg_cap);
    }
    if (logical_size != nullptr) *logical_size = reader->logical_size();
    if (file_flags != nullptr && reader->closed()) *file_flags = EKV_FILE_CLOSED;
    if (reader->torn()) {
      return FromStatus(
          ekv::TornTail(path,
                        "the last frame is incomplete or fails authentication "
                        "(crash while writing); " +
                            std::to_string(reader->logical_size()) + " bytes before it are intact"),
          msg, msg_cap);
    }
    if ((options & EKV_CHECK_REQUIRE_CLOSED) != 0 && !reader->closed() && reader->has_key()) {
      return FromStatus(ekv::IntegrityError(path,
                                            "the file ends without its final frame, but it was "
                                            "closed cleanly (cut at a frame boundary)"),
                        msg, msg_cap);
    }
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_file_verify(ekv_env* env, const char* path, uint64_t* logical_size, char* msg,
                                uint32_t msg_cap) noexcept {
  return ekv_file_check(env, path, 0, logical_size, nullptr, msg, msg_cap);
}

EKV_API int32_t ekv_file_read(ekv_env* env, const char* path, uint64_t offset, uint8_t* buffer,
                              uint64_t length, uint64_t* read, char* msg,
                              uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_read", msg, msg_cap, [&]() -> int32_t {
    if (read != nullptr) *read = 0;
    if (env == nullptr || path == nullptr || read == nullptr || (buffer == nullptr && length > 0)) {
      return Fail(EKV_INVALID_ARGUMENT, "env, path, buffer and read are required", msg, msg_cap);
    }
    std::unique_ptr<ekv::FrameReader> reader;
    rocksdb::IOStatus s = env->fs->OpenReader(path, rocksdb::FileOptions(), &reader);
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    uint64_t done = 0;
    while (done < length) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length - done, 1u << 30));
      size_t got = 0;
      s = reader->ReadAt(offset + done, want, reinterpret_cast<char*>(buffer + done), &got);
      if (!s.ok()) return FromStatus(s, msg, msg_cap);
      if (got == 0) break;
      done += got;
    }
    *read = done;
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_file_write(ekv_env* env, const char* path, const uint8_t* data, uint64_t length,
                               char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_write", msg, msg_cap, [&]() -> int32_t {
    if (env == nullptr || path == nullptr || (data == nullptr && length > 0)) {
      return Fail(EKV_INVALID_ARGUMENT, "env, path and data are required", msg, msg_cap);
    }
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = env->fs->NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr);
    uint64_t done = 0;
    while (s.ok() && done < length) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(length - done, 1u << 24));
      s = file->Append(rocksdb::Slice(reinterpret_cast<const char*>(data + done), n),
                       rocksdb::IOOptions(), nullptr);
      done += n;
    }
    if (s.ok()) s = file->Sync(rocksdb::IOOptions(), nullptr);
    if (file != nullptr) {
      rocksdb::IOStatus c = file->Close(rocksdb::IOOptions(), nullptr);
      if (s.ok()) s = c;
    }
    return FromStatus(s, msg, msg_cap);
  });
}

EKV_API int32_t ekv_rocksdb_library_path(char* buffer, uint32_t cap) noexcept {
  try {
    Dl_info info;
    std::memset(&info, 0, sizeof(info));
    if (dladdr(reinterpret_cast<void*>(&rocksdb_open), &info) == 0 || info.dli_fname == nullptr) {
      CopyMessage("dladdr failed for rocksdb_open", buffer, cap);
      return EKV_INTERNAL;
    }
    // The canonical path, as /proc/self/maps shows it, so managed code can compare.
    char resolved[PATH_MAX];
    std::string path = realpath(info.dli_fname, resolved) != nullptr ? resolved : info.dli_fname;
    CopyMessage(path, buffer, cap);
    return path.size() < cap ? EKV_OK : EKV_INVALID_ARGUMENT;
  } catch (...) {
    return EKV_INTERNAL;
  }
}

EKV_API const char* ekv_rocksdb_header_version(void) noexcept {
#define EKV_STR2(x) #x
#define EKV_STR(x) EKV_STR2(x)
  return EKV_STR(ROCKSDB_MAJOR) "." EKV_STR(ROCKSDB_MINOR) "." EKV_STR(ROCKSDB_PATCH);
#undef EKV_STR
#undef EKV_STR2
}

EKV_API int32_t ekv_file_kind_of(const char* path) noexcept {
  if (path == nullptr) return EKV_FILE_LOG_LIKE;
  try {
    return ekv::FileKindOf(path);
  } catch (...) {
    return EKV_FILE_LOG_LIKE;  // only a failed allocation of the path string; the safe answer
  }
}

EKV_API int32_t ekv_last_error_take(ekv_error_info* out) noexcept {
  return ekv::TakeLastError(out) ? 1 : 0;
}

EKV_API int32_t ekv_last_error_take_any_thread(ekv_error_info* out) noexcept {
  return ekv::TakeAnyThreadLastError(out) ? 1 : 0;
}

EKV_API uint32_t ekv_abi_version(void) noexcept { return EKV_ABI_VERSION; }

}  // extern "C"
