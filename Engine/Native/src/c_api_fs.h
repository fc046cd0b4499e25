// The objects behind the opaque handles of the file-operation API (ekvfs.h, ABI 2).
#pragma once

#include <memory>

#include "rocksdb/file_system.h"

struct ekv_fs {
  std::shared_ptr<rocksdb::FileSystem> fs;
};
// Each file keeps its file system alive (a plain FS of a destroyed env would otherwise dangle).
struct ekv_wfile {
  std::shared_ptr<rocksdb::FileSystem> fs;
  std::unique_ptr<rocksdb::FSWritableFile> file;
};
struct ekv_sfile {
  std::shared_ptr<rocksdb::FileSystem> fs;
  std::unique_ptr<rocksdb::FSSequentialFile> file;
};
struct ekv_rfile {
  std::shared_ptr<rocksdb::FileSystem> fs;
  std::unique_ptr<rocksdb::FSRandomAccessFile> file;
};
struct ekv_lock {
  std::shared_ptr<rocksdb::FileSystem> fs;
  rocksdb::FileLock* lock = nullptr;
};
