using System.Runtime.InteropServices;

namespace Engine.Interop;

/// <summary>
/// Owns one native in-memory file system (<c>ekv_mem_fs*</c>, RocksDB's in-memory Env) that outlives
/// the envs built over it, so that an in-memory store can close, lock, unlock and reopen and find its
/// encrypted files again. Each env holds its own reference: releasing this handle while a store is
/// open is safe, the memory goes with the last user.
/// </summary>
internal sealed class MemoryFileSystemHandle : SafeHandle
{
    internal MemoryFileSystemHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Creates an empty in-memory file system.</summary>
    /// <exception cref="EngineException">The plugin could not create it.</exception>
    public static unsafe MemoryFileSystemHandle Create()
    {
        NativeLibraryCheck.EnsureLoaded();
        nint memFs = 0;
        NativeCall.Check(null, (msg, cap) => NativeMethods.MemFsCreate(out memFs, msg, cap));
        if (memFs == IntPtr.Zero)
        {
            throw new EngineException("ekv_mem_fs_create returned no file system");
        }
        var result = new MemoryFileSystemHandle();
        result.SetHandle(memFs);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.MemFsDestroy(handle);
        return true;
    }
}
