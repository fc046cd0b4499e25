// Operations on the header region of an existing file: reading the active slot without a key
// and re-wrapping the DEK into the other slot (docs/format.md, "Header re-wrap").
#pragma once

#include <string>

#include "format.h"
#include "fs_context.h"

namespace ekv {

struct ActiveHeader {
  HeaderSlot slot;
  int active = 0;  // 0 = slot A, 1 = slot B
  uint64_t physical_size = 0;
};

// Reads and decodes the header region of `path` on the base file system. InvalidArgument for a
// 0-byte file (no header), Corruption for a truncated or invalid header.
rocksdb::IOStatus ReadActiveHeader(const FsContext& ctx, const std::string& path,
                                   ActiveHeader* out);

// Re-wraps the DEK of `path` under the current KEK: the rewrap_file_key callback wraps the same
// DEK (verified by unwrapping old and new envelope) for generation + 1, which is written to the
// inactive slot and fsynced. Frames are not touched.
rocksdb::IOStatus RewrapHeader(const FsContext& ctx, const std::string& path,
                               uint64_t* new_generation);

// The same with another key service (namespace moves, c_api_moves.cc: from a namespace KEK to a
// transfer KEK and back). `keys` must open the old envelope, re-wrap it, and open the new one.
rocksdb::IOStatus RewrapHeaderWith(const FsContext& ctx, const KeyService& keys,
                                   const std::string& path, uint64_t* new_generation);

}  // namespace ekv
