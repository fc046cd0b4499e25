using System.Runtime.InteropServices;
using RocksDbSharp;

namespace Engine.Interop;

/// <summary>
/// Owns the store's RocksDB block cache (a <c>rocksdb_cache_t*</c>) built by the plugin on an
/// allocator that wipes every block when RocksDB frees it: decrypted data, index and filter blocks
/// do not stay in freed heap memory after eviction or after the store locks.
/// </summary>
internal sealed class BlockCacheHandle : SafeHandle
{
    internal BlockCacheHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Creates an LRU cache of <paramref name="capacity"/> bytes on the wiping allocator.</summary>
    /// <exception cref="EngineException">The plugin could not create the cache.</exception>
    public static unsafe BlockCacheHandle Create(ulong capacity)
    {
        NativeLibraryCheck.EnsureLoaded();
        nint cache = 0;
        NativeCall.Check(null, (msg, cap) => NativeMethods.BlockCacheCreate(capacity, out cache, msg, cap));
        var result = new BlockCacheHandle();
        result.SetHandle(cache);
        return result;
    }

    /// <summary>Process-wide counters of the wiping allocator (tests: blocks really come from it and are wiped).</summary>
    internal static NativeAllocatorStats AllocatorStats
    {
        get
        {
            NativeMethods.ZeroingAllocatorStats(out NativeAllocatorStats stats);
            return stats;
        }
    }

    /// <summary>Makes <paramref name="tableOptions"/> use this cache (they keep their own reference to it).</summary>
    public void AttachTo(BlockBasedTableOptions tableOptions) =>
        Native.Instance.rocksdb_block_based_options_set_block_cache(tableOptions.Handle, handle);

    /// <summary>Evicts every unpinned block now (each is wiped as it is freed).</summary>
    public void EvictAll() => Native.Instance.rocksdb_cache_set_capacity(handle, UIntPtr.Zero);

    protected override bool ReleaseHandle()
    {
        Native.Instance.rocksdb_cache_destroy(handle);
        return true;
    }
}
