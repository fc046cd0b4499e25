using System.Runtime.InteropServices;
using Engine.Interop;

namespace Engine.Files;

/// <summary>
/// The store's exclusive open lock (<c>ekv_store_lock_acquire</c>: an flock on the store directory).
/// Taken by <see cref="EncryptedStore.Open"/> before anything in the directory is deleted or written
/// and held until the store is disposed (across lock/unlock of its session), so a second opener, in
/// this process or another, changes nothing and fails with <see cref="StoreInUseException"/>.
/// </summary>
internal sealed class StoreDirectoryLock : SafeHandle
{
    internal StoreDirectoryLock() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes the lock of the existing directory <paramref name="root"/> without waiting.</summary>
    /// <exception cref="StoreInUseException">Another opener holds the store.</exception>
    /// <exception cref="EngineException">The directory cannot be opened or locked.</exception>
    public static unsafe StoreDirectoryLock Acquire(string root)
    {
        NativeLibraryCheck.EnsureLoaded();
        nint lockHandle = 0;
        NativeCall.Check(root, (msg, cap) => NativeMethods.StoreLockAcquire(root, out lockHandle, msg, cap));
        var result = new StoreDirectoryLock();
        result.SetHandle(lockHandle);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.StoreLockRelease(handle);
        return true;
    }
}
