using System.Buffers;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Readme;

/// <summary>README "Snapshots, cursors, reads without garbage, async and read-only opens": compiled and run here, shown verbatim there.</summary>
public sealed class EmbedderApiSamples : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_README_samples_run()
    {
        await using (EncryptedStore store = await OpenAsyncSample(_dir.Options()))
        {
            StoreNamespace orders = store.GetNamespace("orders");
            StoreNamespace stock = store.GetNamespace("stock");
            for (int i = 0; i < 10; i++)
            {
                orders.Put($"order/{i:D4}", $"{i}");
                stock.Put($"sku/{i}", "1");
            }
            Assert.Equal(10, SnapshotSample(store, orders, stock));
            Assert.Equal(["order/0007", "order/0008", "order/0009"], CursorSample(orders));
            Assert.Equal(3, ReadsSample(orders));
        }
        Assert.Equal(["orders", "stock"], ReadOnlySample(_dir.StorePath));
    }

    private static async Task<EncryptedStore> OpenAsyncSample(StoreOptions options)
    {
        // README-SAMPLE-BEGIN
        // The CMEK unwrap (a KMS round trip) is awaited, never blocks a thread; the token cancels it.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        EncryptedStore store = await EncryptedStore.OpenAsync(options, cts.Token);
        // ... and close with `await using` (IAsyncDisposable); Flush, Compact, Verify take a token too.
        store.Verify(cts.Token);
        // README-SAMPLE-END
        return store;
    }

    private static int SnapshotSample(EncryptedStore store, StoreNamespace orders, StoreNamespace stock)
    {
        // README-SAMPLE-BEGIN
        using StoreSnapshot snapshot = store.CreateSnapshot();   // one point in time, every namespace
        orders.Put("order/0001", "changed later");
        stock.Delete("sku/1");

        string? before = Encoding.UTF8.GetString(orders.Get("order/0001"u8, snapshot)!);  // "1"
        byte[]? sku = stock.Get("sku/1"u8, snapshot);                                      // still there
        int count = orders.Scan(null, null, snapshot).Count();
        // A lock of the store releases the snapshot: using it then throws StoreLockedException.
        // README-SAMPLE-END
        Assert.Equal("1", before);
        Assert.NotNull(sku);
        return count;
    }

    private static List<string> CursorSample(StoreNamespace orders)
    {
        var lastThree = new List<string>();
        // README-SAMPLE-BEGIN
        using StoreCursor cursor = orders.OpenCursor(new CursorOptions { Prefix = "order/"u8.ToArray() });
        // Newest three orders, walking backwards; Key and Value are spans, valid until the next move.
        for (bool ok = cursor.SeekToLast(); ok && lastThree.Count < 3; ok = cursor.Prev())
        {
            lastThree.Insert(0, Encoding.UTF8.GetString(cursor.Key));
        }
        cursor.Seek("order/0005"u8);          // also SeekForPrev, SeekToFirst, Next; IsValid says where it is
        // README-SAMPLE-END
        Assert.True(cursor.IsValid);
        return lastThree;
    }

    private static int ReadsSample(StoreNamespace orders)
    {
        // README-SAMPLE-BEGIN
        Span<byte> buffer = stackalloc byte[256];
        if (orders.TryGet("order/0002"u8, buffer, out int length) && length <= buffer.Length)
        {
            Handle(buffer[..length]);                      // the value; no allocation on this path
        }
        var writer = new ArrayBufferWriter<byte>();
        orders.TryGet("order/0003"u8, writer);            // appends the value to any IBufferWriter<byte>
        bool known = orders.Contains("order/0004"u8);
        byte[]?[] values = orders.MultiGet(["order/0001"u8.ToArray(), "nope"u8.ToArray()]);  // one batched read
        // README-SAMPLE-END
        Assert.True(known);
        Assert.Null(values[1]);
        return writer.WrittenCount + (known ? 1 : 0) + (values[0] is null ? 0 : 1);
    }

    private static void Handle(ReadOnlySpan<byte> value) => Assert.True(value.SequenceEqual("2"u8));

    private static IReadOnlyList<string> ReadOnlySample(string path)
    {
        // README-SAMPLE-BEGIN
        // No write lock, nothing written (no LOG, no temp cleanup, no registry write): fine on a read-only mount,
        // next to a writer process. Writes throw StoreReadOnlyException.
        using var reader = EncryptedStore.Open(new StoreOptions { Path = path, ReadOnly = true });
        IReadOnlyList<string> names = reader.ListNamespaces();
        // README-SAMPLE-END
        return names;
    }
}
