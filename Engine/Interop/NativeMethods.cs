using System.Runtime.InteropServices;

namespace Engine.Interop;

/// <summary>Status codes of the native plugin; mirrors <c>ekv_status</c> in <c>ekvfs.h</c>.</summary>
internal enum NativeStatus
{
    Ok = 0,
    Integrity = 1,
    KeyUnavailable = 2,
    IOError = 3,
    InvalidArgument = 4,
    NotFound = 5,
    TornTail = 6,
    Internal = 7,
    /// <summary>ABI 2: refused by design (e.g. WAL recycling on the encrypted file system).</summary>
    NotSupported = 8,
    /// <summary>The store is held by another opener (<c>ekv_store_lock_acquire</c>).</summary>
    InUse = 9,
    /// <summary><c>new_file_key</c> only: the file's namespace was deleted (the plugin tells RocksDB its column family was dropped).</summary>
    NamespaceDeleted = 10,
}

/// <summary>Mirrors <c>ekv_error_info</c> in <c>ekvfs.h</c>: the typed record of a plugin error.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeErrorInfo
{
    public int Code;
    public uint HasOffset;
    public ulong Offset;
    public fixed byte Path[4096];
    public fixed byte Message[1024];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeCallbacks
{
    public nint Context;
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, uint, byte*, byte*, uint, uint*, byte*, uint, int> NewFileKey;
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, uint, byte*, uint, byte*, byte*, uint, int> OpenFileKey;
    /// <summary>ABI 2, optional (null: <c>ekv_file_rewrap</c> fails with <see cref="NativeStatus.Internal"/>).</summary>
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, uint, byte*, uint, byte*, uint, byte*, uint, uint*, byte*, uint, int> RewrapFileKey;
}

/// <summary>Mirrors <c>ekv_header_info</c> in <c>ekvfs.h</c>: the active header slot of a file.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeHeaderInfo
{
    public ulong Generation;
    public ulong LogicalSize;
    public uint FormatVersion;
    public uint FrameSize;
    /// <summary>0 = slot A (offset 0), 1 = slot B (offset 512).</summary>
    public uint ActiveSlot;
    public uint EnvelopeLength;
    public fixed byte FileId[16];
    public fixed byte Envelope[400];
    /// <summary>1 when the envelope is version 1 and the three fields below are filled.</summary>
    public uint EnvelopeParsed;
    public uint ScopeKind;
    public uint ScopeId;
    public uint KekVersion;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeEnvOptions
{
    public uint FrameSize;
    public uint UseMemEnv;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeStats
{
    public ulong LiveDeks;
    public ulong FilesCreated;
    public ulong FilesOpened;
    public ulong FramesSealed;
    public ulong FramesOpened;
    public ulong IntegrityFailures;
}

/// <summary>Mirrors <c>ekv_allocator_stats</c> in <c>ekvfs.h</c>: counters of the wiping block-cache allocator.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeAllocatorStats
{
    public ulong Allocations;
    public ulong WipedBlocks;
    public ulong WipedBytes;
}

/// <summary>Mirrors <c>ekv_read_request</c> in <c>ekvfs.h</c> (one request of <c>ekv_rfile_multi_read</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeReadRequest
{
    public ulong Offset;
    public ulong Length;
    public byte* Buffer;
    /// <summary>Out: bytes read.</summary>
    public ulong Read;
    /// <summary>Out: <see cref="NativeStatus"/> of this request.</summary>
    public int Status;
    public uint Reserved;
}

/// <summary>Every P/Invoke into <c>libekvfs.so</c>, the encrypted file system plugin.</summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = "ekvfs";
    internal const uint ExpectedAbiVersion = 2;
    internal const int MessageCapacity = 1024;

    [LibraryImport(Library, EntryPoint = "ekv_abi_version")]
    internal static partial uint AbiVersion();

    [LibraryImport(Library, EntryPoint = "ekv_env_create")]
    internal static partial int EnvCreate(NativeCallbacks* callbacks, NativeEnvOptions* options, out nint env, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_env_destroy")]
    internal static partial void EnvDestroy(nint env);

    [LibraryImport(Library, EntryPoint = "ekv_mem_fs_create")]
    internal static partial int MemFsCreate(out nint memFs, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_mem_fs_destroy")]
    internal static partial void MemFsDestroy(nint memFs);

    [LibraryImport(Library, EntryPoint = "ekv_env_create_on_mem_fs")]
    internal static partial int EnvCreateOnMemFs(NativeCallbacks* callbacks, NativeEnvOptions* options, MemoryFileSystemHandle memFs, out nint env, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_env_rocksdb_env")]
    internal static partial nint EnvRocksDbEnv(EncryptedEnvHandle env);

    [LibraryImport(Library, EntryPoint = "ekv_options_set_cf_path", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int OptionsSetCfPath(nint rocksdbOptions, string path, ulong targetSize, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_block_cache_create")]
    internal static partial int BlockCacheCreate(ulong capacity, out nint cache, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_zeroing_allocator_stats")]
    internal static partial void ZeroingAllocatorStats(out NativeAllocatorStats stats);

    [LibraryImport(Library, EntryPoint = "ekv_options_set_track_wals")]
    internal static partial int OptionsSetTrackWals(nint rocksdbOptions, int enabled, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_db_checkpoint", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int DbCheckpoint(nint rocksdbDb, EncryptedEnvHandle env, string dbRoot, string stagingDir, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_env_get_stats")]
    internal static partial void EnvGetStats(EncryptedEnvHandle env, out NativeStats stats);

    [LibraryImport(Library, EntryPoint = "ekv_file_verify", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileVerify(EncryptedEnvHandle env, string path, out ulong logicalSize, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_check", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileCheck(EncryptedEnvHandle env, string path, uint options, out ulong logicalSize, out uint fileFlags, byte* msg, uint msgCap);

    /// <summary>ekv_file_check options (ekvfs.h).</summary>
    internal const uint CheckLastFrameOnly = 1, CheckRequireClosed = 2;

    /// <summary>ekv_file_check file flag: the file ends in a final frame (closed cleanly).</summary>
    internal const uint FileClosed = 1;

    [LibraryImport(Library, EntryPoint = "ekv_file_read", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileRead(EncryptedEnvHandle env, string path, ulong offset, byte* buffer, ulong length, out ulong read, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_write", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileWrite(EncryptedEnvHandle env, string path, byte* data, ulong length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_rewrap", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileRewrap(EncryptedEnvHandle env, string path, out ulong newGeneration, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_env_wait_file_creations")]
    internal static partial int EnvWaitFileCreations(EncryptedEnvHandle env, uint timeoutMs, out int done, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_header_info", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileHeaderInfo(EncryptedEnvHandle env, string path, out NativeHeaderInfo info, byte* msg, uint msgCap);

    // Namespace moves (c_api_moves.cc; Engine/Moves).
    [LibraryImport(Library, EntryPoint = "ekv_file_rewrap_with", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileRewrapWith(EncryptedEnvHandle env, string path, NativeCallbacks* keys, out ulong newGeneration, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_db_file_deletions")]
    internal static partial int DbFileDeletions(nint rocksdbDb, int enable, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_cf_ingested_files")]
    internal static partial int CfIngestedFiles(nint rocksdbDb, nint rocksdbCf, out uint count, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_cf_live_files")]
    internal static partial int CfLiveFiles(nint rocksdbDb, nint rocksdbCf, byte* output, uint capacity, out uint length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_cf_import", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CfImport(nint rocksdbDb, nint rocksdbOptions, string cfName, byte* metadata, uint metadataLength, out nint cf, byte* msg, uint msgCap);

    /// <summary>1 and <paramref name="info"/> filled when the calling thread has a recorded error (then cleared).</summary>
    [LibraryImport(Library, EntryPoint = "ekv_last_error_take")]
    internal static partial int LastErrorTake(NativeErrorInfo* info);

    /// <summary>The same for the latest error recorded on any thread (then cleared).</summary>
    [LibraryImport(Library, EntryPoint = "ekv_last_error_take_any_thread")]
    internal static partial int LastErrorTakeAnyThread(NativeErrorInfo* info);

    [LibraryImport(Library, EntryPoint = "ekv_store_lock_acquire", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StoreLockAcquire(string dir, out nint lockHandle, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_store_lock_release")]
    internal static partial void StoreLockRelease(nint lockHandle);

    /// <summary>The plugin's kind of the file at <paramref name="path"/> (<c>ekv_file_kind</c>).</summary>
    [LibraryImport(Library, EntryPoint = "ekv_file_kind_of", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileKindOf(string path);

    [LibraryImport(Library, EntryPoint = "ekv_rocksdb_library_path")]
    internal static partial int RocksDbLibraryPath(byte* buffer, uint cap);

    [LibraryImport(Library, EntryPoint = "ekv_rocksdb_header_version")]
    internal static partial nint RocksDbHeaderVersion();

    // ---- File-operation API (ABI 2): the plain (encrypted = 0) or encrypted (1) FileSystem of an
    // env. Handles (ekv_fs*, ekv_wfile*, ekv_sfile*, ekv_rfile*, ekv_lock*) are opaque; destroy files
    // and locks before their fs, every fs before its env. See ekvfs.h for each function.

    [LibraryImport(Library, EntryPoint = "ekv_fs_open")]
    internal static partial int FsOpen(EncryptedEnvHandle env, int encrypted, out nint fs, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_destroy")]
    internal static partial void FsDestroy(nint fs);

    [LibraryImport(Library, EntryPoint = "ekv_fs_new_writable", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsNewWritable(nint fs, string path, out nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_reopen_writable", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsReopenWritable(nint fs, string path, out nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_reuse_writable", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsReuseWritable(nint fs, string path, string oldPath, out nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_append")]
    internal static partial int WFileAppend(nint file, byte* data, ulong length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_flush")]
    internal static partial int WFileFlush(nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_sync")]
    internal static partial int WFileSync(nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_fsync")]
    internal static partial int WFileFsync(nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_range_sync")]
    internal static partial int WFileRangeSync(nint file, ulong offset, ulong length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_truncate")]
    internal static partial int WFileTruncate(nint file, ulong size, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_close")]
    internal static partial int WFileClose(nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_size")]
    internal static partial ulong WFileSize(nint file);

    [LibraryImport(Library, EntryPoint = "ekv_wfile_destroy")]
    internal static partial void WFileDestroy(nint file);

    [LibraryImport(Library, EntryPoint = "ekv_fs_new_sequential", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsNewSequential(nint fs, string path, out nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_sfile_read")]
    internal static partial int SFileRead(nint file, byte* buffer, ulong length, out ulong read, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_sfile_skip")]
    internal static partial int SFileSkip(nint file, ulong n, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_sfile_positioned_read")]
    internal static partial int SFilePositionedRead(nint file, ulong offset, byte* buffer, ulong length, out ulong read, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_sfile_destroy")]
    internal static partial void SFileDestroy(nint file);

    [LibraryImport(Library, EntryPoint = "ekv_fs_new_random", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsNewRandom(nint fs, string path, out nint file, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_rfile_read")]
    internal static partial int RFileRead(nint file, ulong offset, byte* buffer, ulong length, out ulong read, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_rfile_multi_read")]
    internal static partial int RFileMultiRead(nint file, NativeReadRequest* requests, ulong count, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_rfile_prefetch")]
    internal static partial int RFilePrefetch(nint file, ulong offset, ulong length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_rfile_destroy")]
    internal static partial void RFileDestroy(nint file);

    [LibraryImport(Library, EntryPoint = "ekv_fs_file_size", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsFileSize(nint fs, string path, out ulong size, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_file_exists", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsFileExists(nint fs, string path, byte* msg, uint msgCap);

    /// <summary>Records: u64 size (ulong.MaxValue without sizes) || u32 name length || UTF-8 name.</summary>
    [LibraryImport(Library, EntryPoint = "ekv_fs_get_children", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsGetChildren(nint fs, string dir, int withSizes, byte* buffer, ulong cap, out ulong needed, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_rename", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsRename(nint fs, string src, string dst, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_link", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsLink(nint fs, string src, string dst, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_delete", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsDelete(nint fs, string path, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_truncate", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsTruncate(nint fs, string path, ulong size, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_create_dir", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsCreateDir(nint fs, string path, int ifMissing, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_delete_dir", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsDeleteDir(nint fs, string path, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_fs_lock", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FsLock(nint fs, string path, out nint lockHandle, byte* msg, uint msgCap);

    /// <summary>Unlocks and destroys the lock handle (even when unlocking fails).</summary>
    [LibraryImport(Library, EntryPoint = "ekv_fs_unlock")]
    internal static partial int FsUnlock(nint lockHandle, byte* msg, uint msgCap);
}
