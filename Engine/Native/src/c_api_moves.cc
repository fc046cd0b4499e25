// extern "C": the native half of namespace moves (ekvfs.h, "Namespace moves"; Engine/Moves).
//
// RocksDB 7.8.3's C API has no way to list a column family's SST files with their sequence
// numbers, to bracket a copy with DisableFileDeletions, or to create a column family from
// exported files (DB::CreateColumnFamilyWithImport). These entry points reach the C++ DB behind
// RocksDbSharp's handles. Like c_api_bridge.cc they depend on two private layouts of db/c.cc:
//   struct rocksdb_t                       { DB* rep; };
//   struct rocksdb_column_family_handle_t  { ColumnFamilyHandle* rep; };
// (unchanged for years; the managed move tests export and import through them, so a change
// fails those tests). A handle made here is released with rocksdb_column_family_handle_destroy,
// which deletes the same layout.
//
// Metadata crosses as one little-endian byte string (docs/format.md, "Namespace export"):
//   u32 comparator length, comparator name, u32 file count, then per file
//   u32 level, u64 size, u64 smallest seqno, u64 largest seqno,
//   u32+bytes db_path, u32+bytes name (no leading '/'), u32+bytes smallest key, u32+bytes largest
//   key.

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "c_api_util.h"
#include "env_handle.h"
#include "header_ops.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/options.h"
#include "rocksdb/table_properties.h"
#include "secure_wipe.h"

using ekv::capi::CatchAll;
using ekv::capi::Fail;
using ekv::capi::FromStatus;

namespace {

struct CDbLayout {  // == rocksdb_t in db/c.cc
  rocksdb::DB* rep;
};
struct CColumnFamilyHandleLayout {  // == rocksdb_column_family_handle_t in db/c.cc
  rocksdb::ColumnFamilyHandle* rep;
};

int32_t FromDbStatus(const rocksdb::Status& s, const char* doing, char* msg, uint32_t cap) {
  if (s.ok()) {
    ekv::CopyMessage("", msg, cap);
    return EKV_OK;
  }
  const std::string text = std::string(doing) + ": " + s.ToString();
  if (s.IsCorruption()) return Fail(EKV_INTEGRITY, text, msg, cap);
  if (s.IsInvalidArgument()) return Fail(EKV_INVALID_ARGUMENT, text, msg, cap);
  if (s.IsNotFound()) return Fail(EKV_NOT_FOUND, text, msg, cap);
  if (s.IsIOError()) {
    // A plugin failure (key unavailable, torn tail, ...) arrives as IOError; its typed record is
    // this thread's last error, which NativeCall takes when the codes agree.
    if (s.ToString().find(ekv::kTagKeyUnavailable) != std::string::npos) {
      return Fail(EKV_KEY_UNAVAILABLE, text, msg, cap);
    }
    return Fail(EKV_IO_ERROR, text, msg, cap);
  }
  return Fail(EKV_INTERNAL, text, msg, cap);
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string* out, const std::string& b) {
  PutU32(out, static_cast<uint32_t>(b.size()));
  out->append(b);
}

class Reader {
 public:
  Reader(const uint8_t* p, uint32_t n) : p_(p), n_(n) {}
  bool U32(uint32_t* v) {
    if (n_ - pos_ < 4) return false;
    *v = 0;
    for (int i = 3; i >= 0; --i) *v = (*v << 8) | p_[pos_ + i];
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (n_ - pos_ < 8) return false;
    *v = 0;
    for (int i = 7; i >= 0; --i) *v = (*v << 8) | p_[pos_ + i];
    pos_ += 8;
    return true;
  }
  bool Bytes(std::string* out) {
    uint32_t len = 0;
    if (!U32(&len) || n_ - pos_ < len) return false;
    out->assign(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return true;
  }
  bool AtEnd() const { return pos_ == n_; }

 private:
  const uint8_t* p_;
  uint32_t n_;
  uint32_t pos_ = 0;
};

}  // namespace

extern "C" {

EKV_API int32_t ekv_file_rewrap_with(ekv_env* env, const char* path, const ekv_callbacks* keys,
                                     uint64_t* new_generation, char* msg,
                                     uint32_t msg_cap) noexcept {
  return CatchAll("ekv_file_rewrap_with", msg, msg_cap, [&]() -> int32_t {
    if (new_generation != nullptr) *new_generation = 0;
    if (env == nullptr || env->fs == nullptr || path == nullptr || keys == nullptr ||
        keys->open_file_key == nullptr || keys->rewrap_file_key == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT,
                  "env, path and key callbacks (open_file_key, rewrap_file_key) are required", msg,
                  msg_cap);
    }
    ekv::KeyService service(*keys);
    return FromStatus(ekv::RewrapHeaderWith(*env->fs->context(), service, path, new_generation),
                      msg, msg_cap);
  });
}

EKV_API int32_t ekv_db_file_deletions(void* rocksdb_db, int32_t enable, char* msg,
                                      uint32_t msg_cap) noexcept {
  return CatchAll("ekv_db_file_deletions", msg, msg_cap, [&]() -> int32_t {
    if (rocksdb_db == nullptr) return Fail(EKV_INVALID_ARGUMENT, "db is required", msg, msg_cap);
    rocksdb::DB* db = static_cast<CDbLayout*>(rocksdb_db)->rep;
    // EnableFileDeletions(force = false) undoes one DisableFileDeletions: nested users (backups)
    // keep theirs.
    rocksdb::Status s = enable != 0 ? db->EnableFileDeletions(false) : db->DisableFileDeletions();
    return FromDbStatus(s, enable != 0 ? "enable file deletions" : "disable file deletions", msg,
                        msg_cap);
  });
}

EKV_API int32_t ekv_cf_ingested_files(void* rocksdb_db, void* rocksdb_cf, uint32_t* count,
                                      char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_cf_ingested_files", msg, msg_cap, [&]() -> int32_t {
    if (count != nullptr) *count = 0;
    if (rocksdb_db == nullptr || rocksdb_cf == nullptr || count == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "db, column family and count are required", msg, msg_cap);
    }
    rocksdb::DB* db = static_cast<CDbLayout*>(rocksdb_db)->rep;
    rocksdb::ColumnFamilyHandle* cf = static_cast<CColumnFamilyHandleLayout*>(rocksdb_cf)->rep;
    rocksdb::TablePropertiesCollection props;
    rocksdb::Status s = db->GetPropertiesOfAllTables(cf, &props);
    if (!s.ok()) return FromDbStatus(s, "read table properties", msg, msg_cap);
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(cf, &meta);
    auto base = [](const std::string& path) {
      const size_t slash = path.rfind('/');
      return slash == std::string::npos ? path : path.substr(slash + 1);
    };
    std::unordered_map<std::string, const rocksdb::TableProperties*> by_name;
    for (const auto& [path, p] : props) {
      if (p != nullptr) by_name[base(path)] = p.get();
    }
    uint32_t n = 0;
    for (const auto& level : meta.levels) {
      for (const auto& f : level.files) {
        if (f.largest_seqno == 0) continue;  // ingested at sequence 0: nothing to lose
        auto found = by_name.find(base(f.name));
        if (found == by_name.end()) continue;
        const auto& user = found->second->user_collected_properties;
        if (user.find("rocksdb.external_sst_file.version") == user.end()) continue;  // not ingested
        auto seqno = user.find("rocksdb.external_sst_file.global_seqno");
        uint64_t in_file = 0;
        if (seqno != user.end() && seqno->second.size() == 8) {
          std::memcpy(&in_file, seqno->second.data(), 8);  // little-endian fixed64
        }
        if (in_file != f.largest_seqno) ++n;  // the sequence number lives in the MANIFEST only
      }
    }
    *count = n;
    ekv::CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_cf_live_files(void* rocksdb_db, void* rocksdb_cf, uint8_t* out, uint32_t cap,
                                  uint32_t* len, char* msg, uint32_t msg_cap) noexcept {
  return CatchAll("ekv_cf_live_files", msg, msg_cap, [&]() -> int32_t {
    if (len != nullptr) *len = 0;
    if (rocksdb_db == nullptr || rocksdb_cf == nullptr || len == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "db, column family and len are required", msg, msg_cap);
    }
    rocksdb::DB* db = static_cast<CDbLayout*>(rocksdb_db)->rep;
    rocksdb::ColumnFamilyHandle* cf = static_cast<CColumnFamilyHandleLayout*>(rocksdb_cf)->rep;
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(cf, &meta);
    std::string buf;
    PutBytes(&buf, cf->GetComparator()->Name());
    uint32_t count = 0;
    for (const auto& level : meta.levels) count += static_cast<uint32_t>(level.files.size());
    PutU32(&buf, count);
    for (const auto& level : meta.levels) {
      for (const auto& f : level.files) {
        PutU32(&buf, static_cast<uint32_t>(level.level));
        PutU64(&buf, f.size);
        PutU64(&buf, f.smallest_seqno);
        PutU64(&buf, f.largest_seqno);
        PutBytes(&buf, f.db_path);
        std::string name = f.name;
        while (!name.empty() && name[0] == '/') name.erase(0, 1);
        PutBytes(&buf, name);
        PutBytes(&buf, f.smallestkey);
        PutBytes(&buf, f.largestkey);
      }
    }
    *len = static_cast<uint32_t>(buf.size());
    if (out == nullptr || cap < buf.size()) {
      ekv::CopyMessage("", msg, msg_cap);
      return EKV_OK;  // *len > cap: the caller retries with a buffer of *len bytes
    }
    std::memcpy(out, buf.data(), buf.size());
    // The buffer holds user keys (smallest/largest); wipe the temporary copy.
    ekv::SecureWipe(buf.data(), buf.size());
    ekv::CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

EKV_API int32_t ekv_cf_import(void* rocksdb_db, void* rocksdb_options, const char* cf_name,
                              const uint8_t* meta, uint32_t meta_len, void** cf_out, char* msg,
                              uint32_t msg_cap) noexcept {
  return CatchAll("ekv_cf_import", msg, msg_cap, [&]() -> int32_t {
    if (cf_out != nullptr) *cf_out = nullptr;
    if (rocksdb_db == nullptr || rocksdb_options == nullptr || cf_name == nullptr ||
        meta == nullptr || cf_out == nullptr) {
      return Fail(EKV_INVALID_ARGUMENT, "db, options, name, metadata and out are required", msg,
                  msg_cap);
    }
    rocksdb::DB* db = static_cast<CDbLayout*>(rocksdb_db)->rep;
    const rocksdb::ColumnFamilyOptions& options = *ekv::bridge::CfOptionsFromC(rocksdb_options);
    Reader r(meta, meta_len);
    rocksdb::ExportImportFilesMetaData files;
    uint32_t count = 0;
    if (!r.Bytes(&files.db_comparator_name) || !r.U32(&count)) {
      return Fail(EKV_INVALID_ARGUMENT, "file metadata is malformed (header)", msg, msg_cap);
    }
    for (uint32_t i = 0; i < count; ++i) {
      rocksdb::LiveFileMetaData f;
      uint32_t level = 0;
      uint64_t size = 0;
      if (!r.U32(&level) || !r.U64(&size) || !r.U64(&f.smallest_seqno) ||
          !r.U64(&f.largest_seqno) || !r.Bytes(&f.db_path) || !r.Bytes(&f.name) ||
          !r.Bytes(&f.smallestkey) || !r.Bytes(&f.largestkey)) {
        return Fail(EKV_INVALID_ARGUMENT,
                    "file metadata is malformed (file " + std::to_string(i) + ")", msg, msg_cap);
      }
      f.level = static_cast<int>(level);
      f.size = static_cast<size_t>(size);
      f.column_family_name = cf_name;
      files.files.push_back(std::move(f));
    }
    if (!r.AtEnd()) {
      return Fail(EKV_INVALID_ARGUMENT, "file metadata has trailing bytes", msg, msg_cap);
    }
    rocksdb::ImportColumnFamilyOptions import_options;
    import_options.move_files = true;  // hard links through the env: the bytes are not rewritten
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    rocksdb::Status s =
        db->CreateColumnFamilyWithImport(options, cf_name, import_options, files, &handle);
    for (auto& f : files.files) {
      ekv::SecureWipe(f.smallestkey.data(), f.smallestkey.size());
      ekv::SecureWipe(f.largestkey.data(), f.largestkey.size());
    }
    if (!s.ok()) {
      if (handle != nullptr) db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
      return FromDbStatus(s, "import column family", msg, msg_cap);
    }
    *cf_out = new CColumnFamilyHandleLayout{handle};
    ekv::CopyMessage("", msg, msg_cap);
    return EKV_OK;
  });
}

}  // extern "C"
