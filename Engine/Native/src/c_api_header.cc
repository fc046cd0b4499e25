// extern "C": header re-wrap and header info (ekvfs.h, ABI 2).
#include <chrono>
#include <cstring>

#include "c_api_util.h"
#include "env_handle.h"
#include "header_ops.h"

using ekv::CopyMessage;
using ekv::capi::CatchAll;
using ekv::capi::Fail;
using ekv::capi::FromStatus;

namespace {

uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_file_rewrap(ekv_env* env, const char* path, uint64_t* new_generation, char* msg,
                                uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_rewrap", msg, msg_cap, [&]() -> int32_t {
    if (new_generation != nullptr) *new_generation = 0;
    if (env == nullptr || env->fs == nullptr || path == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "env and path are required", msg, msg_cap);
    }
    return FromStatus(ekv::RewrapHeader(*env->fs->context(), path, new_generation), msg, msg_cap);
  });
}

EKV_API int32_t ekv_env_wait_file_creations(ekv_env* env, uint32_t timeout_ms, int32_t* done,
                                            char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_env_wait_file_creations", msg, msg_cap, [&]() -> int32_t {
    if (done != nullptr) *done = 0;
    if (env == nullptr || env->fs == nullptr || done == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "env and done are required", msg, msg_cap);
    }
    *done =
        env->fs->context()->creations.WaitForEarlier(std::chrono::milliseconds(timeout_ms)) ? 1 : 0;
    return EKV_OK;
  });
}

EKV_API int32_t ekv_file_header_info(ekv_env* env, const char* path, ekv_header_info* out,
                                     char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_header_info", msg, msg_cap, [&]() -> int32_t {
    if (out != nullptr) std::memset(out, 0, sizeof(*out));
    if (env == nullptr || env->fs == nullptr || path == nullptr || out == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "env, path and out are required", msg, msg_cap);
    }
    ekv::ActiveHeader h;
    rocksdb::IOStatus s = ekv::ReadActiveHeader(*env->fs->context(), path, &h);
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    uint64_t logical = 0;
    s = env->fs->GetFileSize(path, rocksdb::IOOptions(), &logical, nullptr);
    if (!s.ok()) return FromStatus(s, msg, msg_cap);
    out->generation = h.slot.generation;
    out->logical_size = logical;
    out->format_version = h.slot.format_version;
    out->frame_size = h.slot.frame_size;
    out->active_slot = static_cast<uint32_t>(h.active);
    out->envelope_len = h.slot.envelope_len;
    std::memcpy(out->file_id, h.slot.file_id, sizeof(out->file_id));
    std::memcpy(out->envelope, h.slot.envelope, h.slot.envelope_len);
    const uint8_t* e = h.slot.envelope;
    if (h.slot.envelope_len >= 10 && e[0] == 1) {
      out->envelope_parsed = 1;
      out->scope_kind = e[1];
      out->scope_id = GetU32(e + 2);
      out->kek_version = GetU32(e + 6);
    }
    CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

}  // extern "C"
