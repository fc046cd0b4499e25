// extern "C": ekv_db_checkpoint (ekvfs.h), the consistent copy behind the engine's backups.

#include <string>
#include <vector>

#include "c_api_util.h"
#include "env_handle.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "secure_wipe.h"

using ekv::capi::CatchAll;
using ekv::capi::Fail;
using ekv::capi::FromStatus;

namespace {

// Creates every missing directory of `dir` (below an existing one) through the base file system.
rocksdb::IOStatus MakeDirs(rocksdb::FileSystem& fs, const std::string& dir) {
  std::string partial;
  size_t at = 0;
  while (at != std::string::npos) {
    at = dir.find('/', at + 1);
    partial = dir.substr(0, at);
    if (partial.empty()) continue;
    rocksdb::IOStatus s = fs.CreateDirIfMissing(partial, rocksdb::IOOptions(), nullptr);
    if (!s.ok()) return s;
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus WriteWhole(rocksdb::FileSystem& fs, const std::string& path, const std::string& data) {
  std::unique_ptr<rocksdb::FSWritableFile> out;
  rocksdb::IOStatus s = fs.NewWritableFile(path, rocksdb::FileOptions(), &out, nullptr);
  if (s.ok()) s = out->Append(data, rocksdb::IOOptions(), nullptr);
  if (s.ok()) s = out->Sync(rocksdb::IOOptions(), nullptr);
  if (out != nullptr) {
    rocksdb::IOStatus c = out->Close(rocksdb::IOOptions(), nullptr);
    if (s.ok()) s = c;
  }
  return s;
}

// Copies the first `limit` logical bytes (all when `all`) of `from` to `to` through the encrypted
// file system: read authenticated and decrypted, written under a new DEK. The buffer is wiped.
rocksdb::IOStatus CopyPrefix(rocksdb::FileSystem& fs, const std::string& from, const std::string& to,
                             uint64_t limit, bool all) {
  std::unique_ptr<rocksdb::FSSequentialFile> in;
  rocksdb::IOStatus s = fs.NewSequentialFile(from, rocksdb::FileOptions(), &in, nullptr);
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::FSWritableFile> out;
  s = fs.NewWritableFile(to, rocksdb::FileOptions(), &out, nullptr);
  if (!s.ok()) return s;
  std::vector<char> buffer(1 << 20);
  uint64_t copied = 0;
  while (s.ok() && (all || copied < limit)) {
    size_t want = buffer.size();
    if (!all && limit - copied < want) want = static_cast<size_t>(limit - copied);
    rocksdb::Slice got;
    s = in->Read(want, rocksdb::IOOptions(), &got, buffer.data(), nullptr);
    if (!s.ok()) break;
    if (got.size() == 0) {
      if (!all) s = rocksdb::IOStatus::Corruption(from + ": shorter than its recorded live size");
      break;
    }
    s = out->Append(got, rocksdb::IOOptions(), nullptr);
    copied += got.size();
  }
  ekv::SecureWipe(buffer.data(), buffer.size());
  if (s.ok()) s = out->Sync(rocksdb::IOOptions(), nullptr);
  rocksdb::IOStatus c = out->Close(rocksdb::IOOptions(), nullptr);
  if (s.ok()) s = c;
  return s;
}

}  // namespace

extern "C" {

EKV_API int32_t ekv_db_checkpoint(void* rocksdb_db, ekv_env* env, const char* db_root,
                                  const char* staging_dir, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_db_checkpoint", msg, msg_cap, [&]() -> int32_t {
    if (rocksdb_db == nullptr || env == nullptr || env->fs == nullptr || db_root == nullptr ||
        staging_dir == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "db, env, db_root and staging_dir are required", msg, msg_cap);
    }
    rocksdb::DB* db = ekv::bridge::DbFromC(rocksdb_db);
    rocksdb::FileSystem& fs = *env->fs;
    const std::string root(db_root);
    const std::string staging(staging_dir);
    if (fs.FileExists(staging, rocksdb::IOOptions(), nullptr).ok()) {
      return Fail(EKV_INVALID_ARGUMENT, staging + " already exists", msg, msg_cap);
    }
    rocksdb::Status ds = db->DisableFileDeletions();
    if (!ds.ok()) return FromStatus(rocksdb::status_to_io_status(std::move(ds)), msg, msg_cap);
    rocksdb::IOStatus s;
    {
      std::vector<rocksdb::LiveFileStorageInfo> files;
      rocksdb::LiveFilesStorageInfoOptions options;
      options.wal_size_for_flush = 0;  // flush first, as a checkpoint with log_size_for_flush 0
      s = rocksdb::status_to_io_status(db->GetLiveFilesStorageInfo(options, &files));
      if (s.ok()) s = MakeDirs(fs, staging);
      for (const rocksdb::LiveFileStorageInfo& f : files) {
        if (!s.ok()) break;
        std::string dir = f.directory;
        while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
        std::string relative;
        if (dir == root) {
          relative = "";
        } else if (dir.compare(0, root.size() + 1, root + "/") == 0) {
          relative = dir.substr(root.size());  // "/ns/3"
        } else {
          s = rocksdb::IOStatus::NotSupported(dir + " is outside the store directory");
          break;
        }
        const std::string from = dir + "/" + f.relative_filename;
        const std::string to_dir = staging + relative;
        const std::string to = to_dir + "/" + f.relative_filename;
        if (!relative.empty()) s = MakeDirs(fs, to_dir);
        if (!s.ok()) break;
        if (f.file_type == rocksdb::kTableFile || f.file_type == rocksdb::kBlobFile) {
          s = fs.LinkFile(from, to, rocksdb::IOOptions(), nullptr);
        } else if (!f.replacement_contents.empty()) {
          s = WriteWhole(fs, to, f.replacement_contents);
        } else {
          s = CopyPrefix(fs, from, to, f.size, !f.trim_to_size);
        }
      }
    }
    rocksdb::Status es = db->EnableFileDeletions(/*force=*/false);
    if (s.ok() && !es.ok()) s = rocksdb::status_to_io_status(std::move(es));
    return FromStatus(s, msg, msg_cap);
  });
}

}  // extern "C"
