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

    [LibraryImport(Library, EntryPoint = "ekv_env_get_stats")]
    internal static partial void EnvGetStats(EncryptedEnvHandle env, out NativeStats stats);

    [LibraryImport(Library, EntryPoint = "ekv_file_verify", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileVerify(EncryptedEnvHandle env, string path, out ulong logicalSize, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_read", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileRead(EncryptedEnvHandle env, string path, ulong offset, byte* buffer, ulong length, out ulong read, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_write", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileWrite(EncryptedEnvHandle env, string path, byte* data, ulong length, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_rewrap", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileRewrap(EncryptedEnvHandle env, string path, out ulong newGeneration, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_file_header_info", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FileHeaderInfo(EncryptedEnvHandle env, string path, out NativeHeaderInfo info, byte* msg, uint msgCap);

    [LibraryImport(Library, EntryPoint = "ekv_rocksdb_library_path")]
    internal static partial int RocksDbLibraryPath(byte* buffer, uint cap);

    [LibraryImport(Library, EntryPoint = "ekv_rocksdb_header_version")]
    internal static partial nint RocksDbHeaderVersion();
}
