using Engine.Interop;
using Engine.Tests.Support;

namespace Engine.Tests.Memory;

/// <summary>The store's block cache takes its blocks from the plugin's wiping allocator, and a lock wipes them.</summary>
public sealed class BlockCacheAllocatorTests
{
    [Fact]
    public void StoreReadsAllocateFromTheWipingAllocatorAndLockingWipesTheBlocks()
    {
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = dir.Open();
        StoreNamespace ns = store.GetNamespace("cache");
        for (int i = 0; i < 3000; i++)
        {
            ns.Put($"key-{i:D5}", new string((char)('a' + (i % 26)), 100));
        }
        store.Flush();
        NativeAllocatorStats before = BlockCacheHandle.AllocatorStats;
        for (int i = 0; i < 3000; i += 17)
        {
            Assert.NotNull(ns.Get(System.Text.Encoding.UTF8.GetBytes($"key-{i:D5}")));
        }
        NativeAllocatorStats afterReads = BlockCacheHandle.AllocatorStats;
        Assert.True(afterReads.Allocations > before.Allocations, "reads did not allocate blocks from the wiping allocator");

        store.Lock("test");
        NativeAllocatorStats afterLock = BlockCacheHandle.AllocatorStats;
        Assert.True(afterLock.WipedBlocks > afterReads.WipedBlocks, "the lock did not wipe the cached blocks");
        Assert.True(afterLock.WipedBytes > afterReads.WipedBytes);
    }
}
