// Helpers shared by the extern "C" translation units added after c_api.cc (which keeps private
// copies of the same three functions). Every C entry point runs its body through CatchAll.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "ekvfs.h"
#include "errors.h"

namespace ekv {
namespace capi {

inline int32_t Fail(ekv_status code, const std::string& msg, char* buf, uint32_t cap) noexcept {
  CopyMessage(msg, buf, cap);
  return code;
}

inline int32_t FromStatus(const rocksdb::IOStatus& s, char* buf, uint32_t cap) noexcept {
  if (s.ok()) {
    CopyMessage("", buf, cap);
    return EKV_OK;
  }
  try {
    return Fail(ToEkvStatus(s), s.ToString(), buf, cap);
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

}  // namespace capi
}  // namespace ekv
