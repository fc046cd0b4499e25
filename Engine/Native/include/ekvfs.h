/*
 * ekvfs: the C ABI of the encrypted RocksDB FileSystem plugin.
 *
 * This header is the only contract between the native plugin (libekvfs.so) and managed code
 * (Engine/Interop/NativeMethods.cs). Every function is noexcept: no C++ exception ever leaves
 * the library. Functions return an ekv_status and, on failure, write a NUL-terminated message
 * into the caller's buffer (truncated to its capacity).
 *
 * Key material: the plugin never sees a KEK. It generates nothing key-related itself except
 * frame nonces; DEKs come from the managed key service through the callbacks below, which also
 * wrap/unwrap them. A DEK lives in native memory only as long as the file object that uses it
 * and is cleansed when that object is destroyed.
 */
#ifndef EKVFS_H
#define EKVFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define EKV_NOEXCEPT noexcept
#else
#define EKV_NOEXCEPT
#endif

#define EKV_API __attribute__((visibility("default")))

/* Status codes shared by functions and callbacks. Keep in sync with NativeStatus in C#. */
typedef enum ekv_status {
  EKV_OK = 0,
  EKV_INTEGRITY = 1,        /* authentication failed / malformed header: data was tampered with */
  EKV_KEY_UNAVAILABLE = 2,  /* the key for this file cannot be obtained (locked, shredded, ...) */
  EKV_IO_ERROR = 3,         /* the underlying file system failed */
  EKV_INVALID_ARGUMENT = 4, /* bad input from the caller */
  EKV_NOT_FOUND = 5,        /* file does not exist */
  EKV_TORN_TAIL = 6,     /* the last frame is incomplete or unauthenticated (crash while writing) */
  EKV_INTERNAL = 7,      /* bug or unexpected condition inside the plugin */
  EKV_NOT_SUPPORTED = 8, /* ABI 2: the operation is refused by design (e.g. WAL recycling) */
  EKV_IN_USE = 9,        /* the store is held by another opener (ekv_store_lock) */
  EKV_NAMESPACE_DELETED = 10 /* new_file_key only: the file's namespace was deleted */
} ekv_status;

enum {
  EKV_DEK_SIZE = 32,
  EKV_FILE_ID_SIZE = 16,
  EKV_ENVELOPE_MAX = 400,
  EKV_FRAME_OVERHEAD = 40 /* ABI 2: bytes a sealed frame adds to its plaintext */
};

/*
 * Callback: a new file is being created at `path`. Managed code picks the key scope from the
 * path (system or namespace), generates a fresh DEK with a CSPRNG, writes it to dek_out[32],
 * wraps it with the scope's current KEK using `aad` (the header's fixed fields, see
 * docs/format.md) as associated data, and writes the opaque key envelope to envelope_out.
 * Returns EKV_OK or an error status with a message.
 */
typedef int32_t (*ekv_new_file_key_fn)(void* ctx, const char* path, const uint8_t* aad,
                                       uint32_t aad_len, uint8_t* dek_out, uint8_t* envelope_out,
                                       uint32_t envelope_cap, uint32_t* envelope_len, char* msg,
                                       uint32_t msg_cap);

/*
 * Callback: an existing file at `path` is being opened. Managed code unwraps the envelope
 * (authenticating `aad`) and writes the DEK to dek_out[32]. EKV_INTEGRITY when authentication
 * fails or the envelope does not belong to this path's scope; EKV_KEY_UNAVAILABLE when the KEK
 * is gone (namespace shredded, store locked).
 */
typedef int32_t (*ekv_open_file_key_fn)(void* ctx, const char* path, const uint8_t* aad,
                                        uint32_t aad_len, const uint8_t* envelope,
                                        uint32_t envelope_len, uint8_t* dek_out, char* msg,
                                        uint32_t msg_cap);

/*
 * Callback (ABI 2): re-wrap the DEK of the file at `path` for a header re-wrap. Managed code
 * unwraps `old_envelope` with the KEK it names, authenticating `old_aad` (the active slot's fixed
 * fields), and wraps the same DEK under the scope's current KEK version with `new_aad` (the same
 * fields with generation + 1) as associated data, writing the new envelope to new_envelope_out.
 * The plugin never sees the DEK here. Statuses as for open_file_key. Optional: may be null, then
 * ekv_file_rewrap fails with EKV_INTERNAL.
 */
typedef int32_t (*ekv_rewrap_file_key_fn)(void* ctx, const char* path, const uint8_t* old_aad,
                                          uint32_t old_aad_len, const uint8_t* old_envelope,
                                          uint32_t old_envelope_len, const uint8_t* new_aad,
                                          uint32_t new_aad_len, uint8_t* new_envelope_out,
                                          uint32_t new_envelope_cap, uint32_t* new_envelope_len,
                                          char* msg, uint32_t msg_cap);

typedef struct ekv_callbacks {
  void* ctx;
  ekv_new_file_key_fn new_file_key;
  ekv_open_file_key_fn open_file_key;
  ekv_rewrap_file_key_fn rewrap_file_key; /* ABI 2; may be null */
} ekv_callbacks;

typedef struct ekv_env_options {
  uint32_t frame_size;  /* plaintext bytes per frame; 0 = default 4096; 512..1 MiB, power of 2 */
  uint32_t use_mem_env; /* 1 = RocksDB's in-memory file system underneath (tests) */
} ekv_env_options;

typedef struct ekv_stats {
  uint64_t live_deks; /* file objects currently holding a DEK */
  uint64_t files_created;
  uint64_t files_opened;
  uint64_t frames_sealed;
  uint64_t frames_opened;
  uint64_t integrity_failures;
} ekv_stats;

typedef struct ekv_env ekv_env;

/* Creates the encrypted file system and an Env over it. */
EKV_API int32_t ekv_env_create(const ekv_callbacks* callbacks, const ekv_env_options* options,
                               ekv_env** out, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

/*
 * An in-memory file system (RocksDB's in-memory Env) that outlives the envs created over it with
 * ekv_env_create_on_mem_fs, so that an in-memory store can close, lock, unlock and reopen and find
 * its (encrypted) files again. For tests; additive (adds functions, changes no layout).
 * Its memory is freed once it and every env created over it are destroyed.
 */
typedef struct ekv_mem_fs ekv_mem_fs;

EKV_API int32_t ekv_mem_fs_create(ekv_mem_fs** out, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

EKV_API void ekv_mem_fs_destroy(ekv_mem_fs* mem_fs) EKV_NOEXCEPT;

/* As ekv_env_create with use_mem_env = 1, but over `mem_fs` instead of a fresh, private one. */
EKV_API int32_t ekv_env_create_on_mem_fs(const ekv_callbacks* callbacks,
                                         const ekv_env_options* options, ekv_mem_fs* mem_fs,
                                         ekv_env** out, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

/* Destroys the env. The caller guarantees no DB still uses it. */
EKV_API void ekv_env_destroy(ekv_env* env) EKV_NOEXCEPT;

/*
 * Returns a rocksdb_env_t* for RocksDbSharp's DbOptions.SetEnv. Owned by `env`; never pass it to
 * rocksdb_env_destroy. (This is the one place that knows the layout of c.cc's rocksdb_env_t.)
 */
EKV_API void* ekv_env_rocksdb_env(ekv_env* env) EKV_NOEXCEPT;

/*
 * Sets ColumnFamilyOptions::cf_paths on a rocksdb_options_t* (the C API of 7.8.3 has no setter).
 * (The one place that knows the layout of c.cc's rocksdb_options_t.)
 */
EKV_API int32_t ekv_options_set_cf_path(void* rocksdb_options, const char* path,
                                        uint64_t target_size, char* msg,
                                        uint32_t msg_cap) EKV_NOEXCEPT;

/* Sets DBOptions::track_and_verify_wals_in_manifest (0 or 1) of a rocksdb_options_t: the MANIFEST
 * then records every live WAL and its synced size, and opening fails when one is missing or
 * shorter. The 7.8.3 C API has no setter. */
EKV_API int32_t ekv_options_set_track_wals(void* rocksdb_options, int32_t enabled, char* msg,
                                           uint32_t msg_cap) EKV_NOEXCEPT;

EKV_API void ekv_env_get_stats(ekv_env* env, ekv_stats* out) EKV_NOEXCEPT;

/*
 * Number of torn tails seen when opening files for reading: the last frame of a file that was
 * not closed (WAL, MANIFEST, LOG, ...) was incomplete or failed authentication, and the file was
 * read as ending before it (what a crash while writing leaves behind). Added in ABI 1 after the
 * first draft; a separate function so ekv_stats keeps its layout.
 */
EKV_API uint64_t ekv_env_torn_tail_count(ekv_env* env) EKV_NOEXCEPT;

/*
 * Reads and authenticates every frame of the file at `path`. Logical size to *logical_size.
 * A log-like file this process has open for writing is read up to its last stable frame (the
 * frames before the one the writer still rewrites in place), so verifying a live WAL, MANIFEST or
 * info LOG never races with its writer and a failure is reported at once; *logical_size then
 * counts the stable bytes.
 * EKV_TORN_TAIL: the file was not closed and its last frame is incomplete or unauthenticated
 * (crash while writing); *logical_size then counts the intact bytes before it. EKV_INTEGRITY:
 * tampering (or a truncated *.sst / *.blob file). See docs/format.md, "Reading".
 */
EKV_API int32_t ekv_file_verify(ekv_env* env, const char* path, uint64_t* logical_size, char* msg,
                                uint32_t msg_cap) EKV_NOEXCEPT;

/* ekv_file_check options. */
#define EKV_CHECK_LAST_FRAME_ONLY 1u /* walk the headers, authenticate the last frame only */
#define EKV_CHECK_REQUIRE_CLOSED 2u  /* a file without a final frame is EKV_INTEGRITY */
/* ekv_file_check *file_flags. */
#define EKV_FILE_CLOSED 1u /* the last frame carries the final flag: closed cleanly */

/*
 * ekv_file_verify with options (0: exactly ekv_file_verify) that also reports, in *file_flags,
 * whether the file ends in a final frame (EKV_FILE_CLOSED; a log-like file gets an empty one at
 * a clean Close, docs/format.md). With EKV_CHECK_REQUIRE_CLOSED a file (with a header) that does
 * not end in a final frame is EKV_INTEGRITY: for files a sealed record says were closed cleanly.
 * A 0-byte file has no frames and is never refused for that.
 */
EKV_API int32_t ekv_file_check(ekv_env* env, const char* path, uint32_t options,
                               uint64_t* logical_size, uint32_t* file_flags, char* msg,
                               uint32_t msg_cap) EKV_NOEXCEPT;

/*
 * Decrypts `length` logical bytes at `offset` of the file at `path` into `buffer`
 * (for `engine log` and tests). *read gets the number of bytes read (short at end of file; a
 * torn tail reads as end of file, exactly as RocksDB sees it). Every byte is authenticated.
 */
EKV_API int32_t ekv_file_read(ekv_env* env, const char* path, uint64_t offset, uint8_t* buffer,
                              uint64_t length, uint64_t* read, char* msg,
                              uint32_t msg_cap) EKV_NOEXCEPT;

/* Writes a whole encrypted file (header + frames) with the given plaintext; for tests/tools. */
EKV_API int32_t ekv_file_write(ekv_env* env, const char* path, const uint8_t* data, uint64_t length,
                               char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

/*
 * Path of the librocksdb shared object this plugin is linked against (via dladdr), with symlinks
 * resolved (as /proc/self/maps shows it). EKV_INVALID_ARGUMENT if `cap` is too small (the buffer
 * then holds a truncated path).
 */
EKV_API int32_t ekv_rocksdb_library_path(char* buffer, uint32_t cap) EKV_NOEXCEPT;

/* "7.8.3": the RocksDB version from the headers the plugin was compiled with. */
EKV_API const char* ekv_rocksdb_header_version(void) EKV_NOEXCEPT;

/*
 * ---- Header re-wrap (ABI 2; docs/format.md "Header re-wrap") ----
 *
 * Re-wraps the DEK of the file at `path` under the current KEK version of its scope without
 * touching its frames: reads the active header slot, has the rewrap_file_key callback produce a
 * new envelope for the same DEK (checked by unwrapping both), writes it to the *other* slot with
 * generation + 1 and fsyncs. A crash at any point leaves a readable file (a torn new slot fails its
 * checksum, so the old slot stays in force). Re-wraps of one env are serialized. *new_generation
 * (may be null) receives the new generation. EKV_INVALID_ARGUMENT for a file without header
 * (0 bytes), EKV_NOT_FOUND for a missing file.
 */
/*
 * Backups (Engine/Backup): copies a consistent view of the open database `rocksdb_db` (a rocksdb_t*
 * opened over `env`) into `staging_dir` (must not exist), as RocksDB's checkpoint does, which 7.8.3
 * refuses for cf_paths: file deletions are disabled, memtables flushed, RocksDB's
 * GetLiveFilesStorageInfo taken; table and blob files are hard-linked (their ciphertext unchanged)
 * under `staging_dir` at their path relative to `db_root`; CURRENT is written with its saved
 * contents and every other file (MANIFEST, OPTIONS, WALs) copied up to its recorded size, both
 * through env's encrypted file system (re-encrypted under new DEKs, never plaintext on disk).
 */
EKV_API int32_t ekv_db_checkpoint(void* rocksdb_db, ekv_env* env, const char* db_root,
                                  const char* staging_dir, char* msg,
                                  uint32_t msg_cap) EKV_NOEXCEPT;

EKV_API int32_t ekv_file_rewrap(ekv_env* env, const char* path, uint64_t* new_generation, char* msg,
                                uint32_t msg_cap) EKV_NOEXCEPT;

/* Waits until every file creation through `env` that began before this call has written its
 * header (a creation holds its key from the key request until its header is on disk). A key
 * rotation calls it after publishing the new current version: no file can then still appear with
 * the previous one. *done = 1 when they all ended, 0 at `timeout_ms`. */
EKV_API int32_t ekv_env_wait_file_creations(ekv_env* env, uint32_t timeout_ms, int32_t* done,
                                            char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

typedef struct ekv_header_info {
  uint64_t generation;     /* of the active slot */
  uint64_t logical_size;   /* as GetFileSize reports it (no key needed) */
  uint32_t format_version; /* 2 */
  uint32_t frame_size;
  uint32_t active_slot;  /* 0 = slot A (offset 0), 1 = slot B (offset 512) */
  uint32_t envelope_len; /* bytes used in envelope[] */
  uint8_t file_id[EKV_FILE_ID_SIZE];
  uint8_t envelope[EKV_ENVELOPE_MAX]; /* opaque key envelope of the active slot */
  /* Parsed from a version-1 envelope (docs/format.md "Key envelope"); envelope_parsed = 0 and
   * the three fields 0 when the envelope is not version 1 or shorter than 10 bytes. */
  uint32_t envelope_parsed;
  uint32_t scope_kind; /* 0 system, 1 namespace, 2 ephemeral */
  uint32_t scope_id;
  uint32_t kek_version;
} ekv_header_info;

/*
 * Reads the active header slot of `path` without a key (the envelope is not unwrapped, so this
 * works for files whose KEK is retired). Same errors as ekv_file_rewrap; EKV_INTEGRITY when no
 * slot is valid.
 */
EKV_API int32_t ekv_file_header_info(ekv_env* env, const char* path, ekv_header_info* out,
                                     char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

/*
 * ---- File-operation API (ABI 2): one RocksDB FileSystem, plain or encrypted ----
 *
 * For a conformance suite that runs the same operations against the plain base file system of an
 * env (`encrypted` = 0: POSIX, or the in-memory one) and the encrypted one (`encrypted` = 1). Each
 * call maps 1:1 to a rocksdb::FileSystem / FS*File method and returns its status (NotFound ->
 * EKV_NOT_FOUND, NotSupported -> EKV_NOT_SUPPORTED, ...). Handles are opaque; every handle must be
 * destroyed, files and locks before their ekv_fs, and every ekv_fs before its env. A handle is not
 * thread-safe unless RocksDB's class is (random-access reads are).
 * Encrypted differences by design: ekv_fs_reuse_writable and memory-mapped/random-RW files are
 * EKV_NOT_SUPPORTED; ekv_sfile_positioned_read is EKV_NOT_SUPPORTED on both (RocksDB calls it only
 * for direct I/O, which neither file offers); ekv_fs_truncate is EKV_NOT_SUPPORTED on POSIX.
 */
typedef struct ekv_fs ekv_fs;
typedef struct ekv_wfile ekv_wfile; /* FSWritableFile */
typedef struct ekv_sfile ekv_sfile; /* FSSequentialFile */
typedef struct ekv_rfile ekv_rfile; /* FSRandomAccessFile */
typedef struct ekv_lock ekv_lock;   /* FileLock */

EKV_API int32_t ekv_fs_open(ekv_env* env, int32_t encrypted, ekv_fs** out, char* msg,
                            uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API void ekv_fs_destroy(ekv_fs* fs) EKV_NOEXCEPT;

/* Writable files (NewWritableFile / ReopenWritableFile / ReuseWritableFile). */
EKV_API int32_t ekv_fs_new_writable(ekv_fs* fs, const char* path, ekv_wfile** out, char* msg,
                                    uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_reopen_writable(ekv_fs* fs, const char* path, ekv_wfile** out, char* msg,
                                       uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_reuse_writable(ekv_fs* fs, const char* path, const char* old_path,
                                      ekv_wfile** out, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_append(ekv_wfile* f, const uint8_t* data, uint64_t length, char* msg,
                                 uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_flush(ekv_wfile* f, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_sync(ekv_wfile* f, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_fsync(ekv_wfile* f, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_range_sync(ekv_wfile* f, uint64_t offset, uint64_t length, char* msg,
                                     uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_truncate(ekv_wfile* f, uint64_t size, char* msg,
                                   uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_wfile_close(ekv_wfile* f, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
/* FSWritableFile::GetFileSize: the logical size including appended, unflushed bytes. After
 * ekv_fs_reopen_writable, POSIX counts only bytes written through the new handle; the in-memory
 * and the encrypted file systems count the whole file. */
EKV_API uint64_t ekv_wfile_size(ekv_wfile* f) EKV_NOEXCEPT;
/* Destroys without Close if still open (RocksDB's error path). */
EKV_API void ekv_wfile_destroy(ekv_wfile* f) EKV_NOEXCEPT;

/* Sequential files. *read gets the byte count (0 at end of file). */
EKV_API int32_t ekv_fs_new_sequential(ekv_fs* fs, const char* path, ekv_sfile** out, char* msg,
                                      uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_sfile_read(ekv_sfile* f, uint8_t* buffer, uint64_t length, uint64_t* read,
                               char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_sfile_skip(ekv_sfile* f, uint64_t n, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_sfile_positioned_read(ekv_sfile* f, uint64_t offset, uint8_t* buffer,
                                          uint64_t length, uint64_t* read, char* msg,
                                          uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API void ekv_sfile_destroy(ekv_sfile* f) EKV_NOEXCEPT;

/* Random-access files. */
EKV_API int32_t ekv_fs_new_random(ekv_fs* fs, const char* path, ekv_rfile** out, char* msg,
                                  uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_rfile_read(ekv_rfile* f, uint64_t offset, uint8_t* buffer, uint64_t length,
                               uint64_t* read, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
typedef struct ekv_read_request {
  uint64_t offset;
  uint64_t length;
  uint8_t* buffer; /* length bytes */
  uint64_t read;   /* out */
  int32_t status;  /* out: ekv_status of this request */
  uint32_t reserved;
} ekv_read_request;
/* FSRandomAccessFile::MultiRead; returns the first failing request's status (message too). */
EKV_API int32_t ekv_rfile_multi_read(ekv_rfile* f, ekv_read_request* requests, uint64_t count,
                                     char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_rfile_prefetch(ekv_rfile* f, uint64_t offset, uint64_t length, char* msg,
                                   uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API void ekv_rfile_destroy(ekv_rfile* f) EKV_NOEXCEPT;

/* File system operations. ekv_fs_file_exists: EKV_OK or EKV_NOT_FOUND. */
EKV_API int32_t ekv_fs_file_size(ekv_fs* fs, const char* path, uint64_t* size, char* msg,
                                 uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_file_exists(ekv_fs* fs, const char* path, char* msg,
                                   uint32_t msg_cap) EKV_NOEXCEPT;
/*
 * Lists `dir` (GetChildren, or GetChildrenFileAttributes when with_sizes = 1) into `buffer` as
 * records: u64 size (logical; UINT64_MAX without sizes) || u32 name length || name (UTF-8, no
 * NUL), little-endian. *needed gets the bytes required; EKV_INVALID_ARGUMENT if cap < *needed.
 */
EKV_API int32_t ekv_fs_get_children(ekv_fs* fs, const char* dir, int32_t with_sizes,
                                    uint8_t* buffer, uint64_t cap, uint64_t* needed, char* msg,
                                    uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_rename(ekv_fs* fs, const char* src, const char* dst, char* msg,
                              uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_link(ekv_fs* fs, const char* src, const char* dst, char* msg,
                            uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_delete(ekv_fs* fs, const char* path, char* msg,
                              uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_truncate(ekv_fs* fs, const char* path, uint64_t size, char* msg,
                                uint32_t msg_cap) EKV_NOEXCEPT;
/* CreateDir (if_missing = 0: fails if it exists) or CreateDirIfMissing (1). */
EKV_API int32_t ekv_fs_create_dir(ekv_fs* fs, const char* path, int32_t if_missing, char* msg,
                                  uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_delete_dir(ekv_fs* fs, const char* path, char* msg,
                                  uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_fs_lock(ekv_fs* fs, const char* path, ekv_lock** out, char* msg,
                            uint32_t msg_cap) EKV_NOEXCEPT;
/* UnlockFile; the handle is destroyed even if unlocking fails. */
EKV_API int32_t ekv_fs_unlock(ekv_lock* lock, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;

/* The micro-benchmark entry points (ekv_bench_seal/open) are not part of this library: see
 * ekvfs_testhooks.h (libekvfs_testhooks.so). */

/*
 * ---- Store lock (additive) ----
 *
 * Takes the store's exclusive lock: flock(LOCK_EX | LOCK_NB) on the store directory itself, so no
 * file is created and RocksDB's own fcntl lock on LOCK is unaffected (closing a descriptor of the
 * directory releases no fcntl lock on LOCK). An flock belongs to an open file description, so a
 * second opener in this process conflicts as well as one in another process; the descriptor is
 * close-on-exec. Taken before an open deletes or writes anything, released with
 * ekv_store_lock_release after RocksDB closed. EKV_IN_USE when another opener holds it,
 * EKV_NOT_FOUND when `dir` does not exist.
 */
typedef struct ekv_store_lock ekv_store_lock;

EKV_API int32_t ekv_store_lock_acquire(const char* dir, ekv_store_lock** out, char* msg,
                                       uint32_t msg_cap) EKV_NOEXCEPT;
/* Releases the lock and closes its descriptor. Null is ignored. */
EKV_API void ekv_store_lock_release(ekv_store_lock* lock) EKV_NOEXCEPT;

/*
 * ---- File kinds (additive) ----
 *
 * The plugin's own rule for what it does with a file, by path (the file need not exist), so that
 * managed code lists and checks files without a copy of the rule:
 *   EKV_FILE_PASSTHROUGH: not encrypted; RocksDB's LOCK (LockFile goes to the base file system).
 *   EKV_FILE_IMMUTABLE:   written once, closed with a final frame (*.sst, *.blob); a truncated or
 *                         unclosed one is an integrity error.
 *   EKV_FILE_LOG_LIKE:    every other file (WAL, MANIFEST, OPTIONS, CURRENT, IDENTITY, info LOG,
 *                         temp files): may be appended to and reopened; a torn tail after a crash
 *                         is expected.
 */
typedef enum ekv_file_kind {
  EKV_FILE_PASSTHROUGH = 0,
  EKV_FILE_IMMUTABLE = 1,
  EKV_FILE_LOG_LIKE = 2
} ekv_file_kind;

/* EKV_FILE_LOG_LIKE for a null path. */
EKV_API int32_t ekv_file_kind_of(const char* path) EKV_NOEXCEPT;

/*
 * ---- Typed error detail (additive) ----
 *
 * Every error the plugin raises itself (authentication, key unavailable, torn tail, internal) is
 * also recorded, typed, as the calling thread's last error: its ekv_status, the file's path and,
 * where one frame is to blame, its file offset. A failed ekv_* call records it on the caller's
 * thread; so does a plugin failure inside a RocksDB read, write or open that RocksDB ran on the
 * caller's thread (RocksDB then returns only its Status string). ekv_last_error_take copies the
 * record and clears it, so managed code maps errors from this record, never from message text.
 * Errors of the underlying file system (not found, I/O) are not recorded.
 */
typedef struct ekv_error_info {
  int32_t code;        /* ekv_status */
  uint32_t has_offset; /* 1 when `offset` names the failing frame's file offset */
  uint64_t offset;
  char path[4096];    /* NUL-terminated, truncated */
  char message[1024]; /* the plugin's sentence "<path>: <what>", NUL-terminated, truncated */
} ekv_error_info;

/* 1 and *out filled (the record cleared) when this thread has a recorded error, else 0. */
EKV_API int32_t ekv_last_error_take(ekv_error_info* out) EKV_NOEXCEPT;

/*
 * The latest error recorded on any thread, taken and cleared (1), or 0. For a RocksDB failure with
 * no record on the caller's thread: RocksDB met it on one of its own threads (table files opened
 * in parallel at DB open, a background flush or compaction). Taking a thread's record also clears
 * it here. With several envs in the process it may belong to another env's failure.
 */
EKV_API int32_t ekv_last_error_take_any_thread(ekv_error_info* out) EKV_NOEXCEPT;

/*
 * A RocksDB LRU block cache (a rocksdb_cache_t*, released with rocksdb_cache_destroy) of
 * `capacity` bytes whose blocks come from an allocator that wipes each block when RocksDB frees it,
 * so evicted or dropped plaintext blocks do not linger in freed heap memory.
 */
EKV_API int32_t ekv_block_cache_create(uint64_t capacity, void** cache, char* msg,
                                       uint32_t msg_cap) EKV_NOEXCEPT;

/* Process-wide counters of the wiping block-cache allocator (tests: the cache really uses it). */
typedef struct ekv_allocator_stats {
  uint64_t allocations;  /* blocks handed out */
  uint64_t wiped_blocks; /* blocks wiped and freed */
  uint64_t wiped_bytes;  /* usable bytes wiped */
} ekv_allocator_stats;
EKV_API void ekv_zeroing_allocator_stats(ekv_allocator_stats* out) EKV_NOEXCEPT;

/*
 * Process-wide bytes the plugin holds in its own buffers, now and at most since the process
 * started: plaintext buffers (decrypted frames: each reader's cached frame and the per-thread
 * scratch, all wiped when freed) and frame indexes (the lists of frame starts of open files).
 * For benchmarks: neither should grow with the store. Additive (adds a function, changes no
 * layout).
 */
typedef struct ekv_memory_stats {
  uint64_t plain_buffer_bytes;
  uint64_t plain_buffer_peak_bytes;
  uint64_t frame_index_bytes;
  uint64_t frame_index_peak_bytes;
} ekv_memory_stats;
EKV_API void ekv_memory_stats_get(ekv_memory_stats* out) EKV_NOEXCEPT;

/*
 * Namespace moves (c_api_moves.cc; additive). rocksdb_db is RocksDbSharp's rocksdb_t*, rocksdb_cf
 * a rocksdb_column_family_handle_t*, rocksdb_options a rocksdb_options_t*.
 * ekv_file_rewrap_with: ekv_file_rewrap with caller-supplied key callbacks (open_file_key and
 *   rewrap_file_key required): re-wraps a file's header DEK from one KEK to another (a namespace
 *   KEK to a transfer KEK and back) without touching a data frame.
 * ekv_db_file_deletions: enable != 0 undoes one DisableFileDeletions; 0 disables.
 * ekv_cf_live_files: the column family's SST files as the byte string of docs/format.md
 *   ("Namespace export"); *len is the needed size; nothing is copied when it exceeds cap.
 * ekv_cf_import: DB::CreateColumnFamilyWithImport (move_files) from that byte string; *cf_out is a
 *   rocksdb_column_family_handle_t* to release with rocksdb_column_family_handle_destroy.
 * ekv_cf_ingested_files: how many live SSTs of the column family were ingested with a global
 *   sequence number that only the MANIFEST holds (the plugin refuses the in-place write of it).
 *   RocksDB 7.8.3's import reads such a file's keys at sequence 0, so an export must not carry one.
 */
EKV_API int32_t ekv_file_rewrap_with(ekv_env* env, const char* path, const ekv_callbacks* keys,
                                     uint64_t* new_generation, char* msg,
                                     uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_db_file_deletions(void* rocksdb_db, int32_t enable, char* msg,
                                      uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_cf_live_files(void* rocksdb_db, void* rocksdb_cf, uint8_t* out, uint32_t cap,
                                  uint32_t* len, char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_cf_ingested_files(void* rocksdb_db, void* rocksdb_cf, uint32_t* count,
                                      char* msg, uint32_t msg_cap) EKV_NOEXCEPT;
EKV_API int32_t ekv_cf_import(void* rocksdb_db, void* rocksdb_options, const char* cf_name,
                              const uint8_t* meta, uint32_t meta_len, void** cf_out, char* msg,
                              uint32_t msg_cap) EKV_NOEXCEPT;

/* Plugin ABI version; managed code refuses to run against a different one. */
EKV_API uint32_t ekv_abi_version(void) EKV_NOEXCEPT;
/* 2: ekv_callbacks gained rewrap_file_key; format version 2 files. */
#define EKV_ABI_VERSION 2u

#ifdef __cplusplus
}
#endif
#endif /* EKVFS_H */
