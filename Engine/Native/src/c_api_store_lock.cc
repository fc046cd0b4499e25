// ekv_store_lock_acquire / ekv_store_lock_release: the store's exclusive open lock (ekvfs.h).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "ekvfs.h"
#include "errors.h"

struct ekv_store_lock {
  int fd = -1;
};

namespace {

int32_t Fail(ekv_status code, const std::string& msg, char* buf, uint32_t cap) noexcept {
  ekv::CopyMessage(msg, buf, cap);
  return code;
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_store_lock_acquire(const char* dir, ekv_store_lock** out, char* msg,
                                       uint32_t msg_cap) noexcept {
  try {
    if (out == nullptr) return Fail(EKV_INVALID_ARGUMENT, "out is null", msg, msg_cap);
    *out = nullptr;
    if (dir == nullptr || dir[0] == '\0') {
      return Fail(EKV_INVALID_ARGUMENT, "a store directory is required", msg, msg_cap);
    }
    const std::string path(dir);
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      const int err = errno;
      return Fail(err == ENOENT ? EKV_NOT_FOUND : EKV_IO_ERROR,
                  path + ": cannot open the store directory to lock it: " + std::strerror(err), msg,
                  msg_cap);
    }
    int rc;
    do {
      rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Fail(
            EKV_IN_USE,
            path + ": the store is open in another process or another EncryptedStore instance", msg,
            msg_cap);
      }
      return Fail(EKV_IO_ERROR, path + ": cannot lock the store: " + std::strerror(err), msg,
                  msg_cap);
    }
    *out = new ekv_store_lock{fd};
    ekv::CopyMessage("", msg, msg_cap);
    return EKV_OK;
  } catch (...) {
    return Fail(EKV_INTERNAL, "ekv_store_lock_acquire: out of memory", msg, msg_cap);
  }
}

EKV_API void ekv_store_lock_release(ekv_store_lock* lock) noexcept {
  if (lock == nullptr) return;
  if (lock->fd >= 0) {
    ::flock(lock->fd, LOCK_UN);
    ::close(lock->fd);  // closing also ends the flock; unlocking first says what we mean
  }
  delete lock;
}

}  // extern "C"
