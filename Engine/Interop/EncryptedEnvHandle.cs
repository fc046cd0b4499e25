using System.Runtime.InteropServices;
using Engine.Crypto;

namespace Engine.Interop;

/// <summary>
/// Owns one native encrypted env (<c>ekv_env*</c>) and the GC handle that lets its callbacks
/// reach the managed <see cref="FileKeyService"/>. Released only after every RocksDB instance
/// that uses the env has been disposed.
/// </summary>
internal sealed class EncryptedEnvHandle : SafeHandle
{
    private GCHandle _callbackTarget;

    internal EncryptedEnvHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Creates the native env whose DEKs come from <paramref name="keys"/>.</summary>
    /// <param name="keys">Source of every file's data key.</param>
    /// <param name="frameSize">Plaintext bytes per frame.</param>
    /// <param name="inMemory">RocksDB's in-memory file system underneath instead of the disk.</param>
    /// <param name="memoryFileSystem">With <paramref name="inMemory"/>: an in-memory file system shared
    /// with earlier and later envs (so a store can reopen in memory); null for a private one.</param>
    /// <exception cref="EngineException">The plugin refused the options or failed to start.</exception>
    public static unsafe EncryptedEnvHandle Create(FileKeyService keys, uint frameSize, bool inMemory, MemoryFileSystemHandle? memoryFileSystem = null)
    {
        NativeLibraryCheck.EnsureLoaded();
        var result = new EncryptedEnvHandle();
        var target = GCHandle.Alloc(keys);
        var callbacks = new NativeCallbacks
        {
            Context = GCHandle.ToIntPtr(target),
            NewFileKey = &FileKeyCallbacks.NewFileKey,
            OpenFileKey = &FileKeyCallbacks.OpenFileKey,
            RewrapFileKey = &FileKeyCallbacks.RewrapFileKey,
        };
        var options = new NativeEnvOptions { FrameSize = frameSize, UseMemEnv = inMemory ? 1u : 0u };
        nint env = 0;
        NativeCallbacks* callbacksPointer = &callbacks;
        NativeEnvOptions* optionsPointer = &options;
        NativeStatus status = NativeCall.Try(null, (msg, cap) => inMemory && memoryFileSystem is not null
            ? NativeMethods.EnvCreateOnMemFs(callbacksPointer, optionsPointer, memoryFileSystem, out env, msg, cap)
            : NativeMethods.EnvCreate(callbacksPointer, optionsPointer, out env, msg, cap), out NativeError error);
        if (status != NativeStatus.Ok || env == IntPtr.Zero)
        {
            target.Free();
            throw status != NativeStatus.Ok ? error.ToException() : new EngineException("ekv_env_create returned no env");
        }
        result._callbackTarget = target;
        result.SetHandle(env);
        return result;
    }

    /// <summary>The <c>rocksdb_env_t*</c> to pass to <c>DbOptions.SetEnv</c>; owned by this handle.</summary>
    public nint RocksDbEnv => NativeMethods.EnvRocksDbEnv(this);

    public NativeStats Stats
    {
        get
        {
            NativeMethods.EnvGetStats(this, out NativeStats stats);
            return stats;
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.EnvDestroy(handle);
        if (_callbackTarget.IsAllocated)
        {
            _callbackTarget.Free();
        }
        return true;
    }
}
