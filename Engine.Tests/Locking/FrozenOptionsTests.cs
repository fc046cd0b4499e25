using System.Diagnostics;
using System.Security.Cryptography;
using Engine.Tests.Support;

namespace Engine.Tests.Locking;

/// <summary>
/// The store keeps a copy of its options: changing the caller's <see cref="StoreOptions"/> after open
/// changes neither the live limits nor the check schedule, and an unlock reopens with the options given
/// at open.
/// </summary>
[Collection(LockTimingGroup.Name)]
public sealed class FrozenOptionsTests : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(300);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void Changing_the_options_after_open_changes_nothing_and_an_unlock_reopens_with_the_options_given_at_open()
    {
        StoreOptions options = _dir.Options(o =>
        {
            o.CmekCheckInterval = s_interval;
            o.FrameSize = 512;
        });
        using EncryptedStore store = EncryptedStore.Open(options);

        options.MaxKeyBytes = 8;
        options.MaxValueBytes = 16;
        options.CmekCheckInterval = TimeSpan.FromHours(1);
        options.KeyCacheTtl = TimeSpan.FromHours(1);
        options.FrameSize = 1 << 20;

        StoreNamespace ns = store.GetNamespace("n");
        byte[] key = new byte[32];
        byte[] value = RandomNumberGenerator.GetBytes(256 << 10);
        ns.Put(key, value); // the limits of open: 64 KiB keys, 64 MiB values

        // Still checking every 300 ms, not every hour.
        long checks = store.CmekCheckCount;
        WaitFor(() => store.CmekCheckCount >= checks + 3, (s_interval * 3) + TimeSpan.FromSeconds(2), "three more checks at the interval given at open");

        store.Lock("test: reopen with the options of open");
        store.Unlock();
        Assert.Equal(value, ns.Get(key));
        ns.Put(key, value, sync: true);
        store.Flush();
        // 256 KiB through the WAL and again into an SST: at least 1024 frames of 512 bytes. With 1 MiB
        // frames (the changed option) it would be a handful.
        ulong sealedFrames = store.PluginStats.FramesSealed;
        Assert.True(sealedFrames >= 1024, $"{sealedFrames} frames sealed since the unlock: the session did not use the frame size given at open");
        Assert.Equal(1 << 20, options.FrameSize); // the caller's object is the caller's
    }
}
