// Bridge to the managed key service (ekv_callbacks). The plugin never sees a KEK: it asks the
// callbacks for a fresh wrapped DEK when a file is created and for the unwrapped DEK when a file
// is opened, passing the header's fixed fields as associated data.
#pragma once

#include <string>

#include "ekvfs.h"
#include "format.h"
#include "frame_cipher.h"
#include "rocksdb/io_status.h"

namespace ekv {

class KeyService {
 public:
  explicit KeyService(const ekv_callbacks& callbacks) : cb_(callbacks) {}

  // Fills `slot` for a new file at `path` (fresh random file id, generation 1, the envelope
  // from the callback) and the new DEK into *dek.
  rocksdb::IOStatus NewFileKey(const std::string& path, uint32_t frame_size, HeaderSlot* slot,
                               SecretKey* dek) const;

  // Unwraps the DEK of an existing file whose chosen header slot is `slot`.
  rocksdb::IOStatus OpenFileKey(const std::string& path, const HeaderSlot& slot,
                                SecretKey* dek) const;

  // Builds the slot that re-wraps the DEK of `old` under the scope's current KEK: same fields,
  // generation + 1, the envelope from the rewrap_file_key callback.
  rocksdb::IOStatus RewrapFileKey(const std::string& path, const HeaderSlot& old,
                                  HeaderSlot* next) const;

 private:
  ekv_callbacks cb_;
};

}  // namespace ekv
