using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

public sealed class StoreRoundTripTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Put_get_delete_and_reopen_across_namespaces()
    {
        using (EncryptedStore store = _dir.Open())
        {
            StoreNamespace a = store.GetNamespace("tenant-a");
            StoreNamespace b = store.GetNamespace("tenant-b");
            a.Put("k1", "a1");
            b.Put("k1", "b1");
            a.Put("k2", "a2");
            a.Delete("k2");
            Assert.Equal("a1", a.Get("k1"));
            Assert.Equal("b1", b.Get("k1"));
            Assert.Null(a.Get("k2"));
            Assert.Null(b.Get("missing"));
        }

        using (EncryptedStore store = _dir.Open(o => o.CmekUri = null))
        {
            Assert.Equal(["tenant-a", "tenant-b"], store.ListNamespaces());
            Assert.Equal("a1", store.GetNamespace("tenant-a").Get("k1"));
            Assert.Equal("b1", store.GetNamespace("tenant-b").Get("k1"));
            Assert.Null(store.GetNamespace("tenant-a").Get("k2"));
        }
    }

    [Fact]
    public void Empty_keys_empty_values_and_binary_keys_round_trip()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("bin");
        ns.Put([], []);
        ns.Put([0xFF, 0xFF, 0x00], [1, 2, 3]);
        Assert.Equal([], ns.Get([]) ?? throw new Xunit.Sdk.XunitException("empty key lost"));
        Assert.Equal([1, 2, 3], ns.Get([0xFF, 0xFF, 0x00]));
        Assert.Null(ns.Get([0xFF, 0xFF]));
    }

    [Fact]
    public void Write_batch_spans_namespaces_and_survives_reopen()
    {
        using (EncryptedStore store = _dir.Open())
        {
            StoreNamespace a = store.GetNamespace("a");
            StoreNamespace b = store.GetNamespace("b");
            a.Put("gone", "x");
            using StoreWriteBatch batch = store.CreateWriteBatch();
            batch.Put(a, "x", "1").Put(b, "y", "2").Delete(a, "gone");
            Assert.Equal(3, batch.Count);
            store.Write(batch, sync: true);
        }
        using (EncryptedStore store = _dir.Open())
        {
            Assert.Equal("1", store.GetNamespace("a").Get("x"));
            Assert.Equal("2", store.GetNamespace("b").Get("y"));
            Assert.Null(store.GetNamespace("a").Get("gone"));
        }
    }

    [Fact]
    public void Scan_respects_bounds_and_order_after_flush_and_compaction()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("scan");
        for (int i = 0; i < 1000; i++)
        {
            ns.Put($"key{i:D4}", $"value{i}");
        }
        store.Flush();
        for (int i = 0; i < 1000; i += 2)
        {
            ns.Delete($"key{i:D4}");
        }
        store.Compact();

        var all = ns.Scan((string?)null, null).ToList();
        Assert.Equal(500, all.Count);
        Assert.Equal("key0001", all[0].Key);
        Assert.Equal(all.Select(kv => kv.Key).Order(StringComparer.Ordinal), all.Select(kv => kv.Key));

        var range = ns.Scan("key0100", "key0110").Select(kv => kv.Key).ToList();
        Assert.Equal(["key0101", "key0103", "key0105", "key0107", "key0109"], range);
        Assert.Empty(store.GetNamespace("empty").Scan((byte[]?)null, null));
        Assert.Equal(5, ns.ScanPrefix(Encoding.UTF8.GetBytes("key000")).Count());
    }

    [Fact]
    public void Verify_reports_every_file_after_flush()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("v");
        var random = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            byte[] value = new byte[100];
            random.NextBytes(value); // incompressible, so the SST really holds ~200 KB
            ns.Put(Encoding.UTF8.GetBytes($"k{i}"), value);
        }
        store.Flush();
        VerifyReport report = store.Verify();
        Assert.Contains(report.Files, f => f.Path.EndsWith(".sst", StringComparison.Ordinal) && f.Path.Contains("/ns/", StringComparison.Ordinal));
        Assert.Contains(report.Files, f => Path.GetFileName(f.Path).StartsWith("MANIFEST-", StringComparison.Ordinal));
        Assert.Contains(report.Files, f => Path.GetFileName(f.Path) == "CURRENT");
        Assert.True(report.LogicalBytes > 100_000);
    }

    [Fact]
    public void Bad_input_gets_clear_errors_and_changes_nothing()
    {
        using (EncryptedStore store = _dir.Open(o => o.MaxValueBytes = 1024))
        {
            StoreNamespace ns = store.GetNamespace("limits");
            ns.Put("k", "v");
            var tooBig = Assert.Throws<ArgumentException>(() => ns.Put(Encoding.UTF8.GetBytes("k"), new byte[1025]));
            Assert.Contains("1025", tooBig.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => store.GetNamespace(""));
            Assert.Throws<ArgumentException>(() => store.GetNamespace("bad\nname"));
            Assert.Throws<ArgumentException>(() => store.GetNamespace(new string('x', 201)));
            Assert.Throws<ArgumentException>(() => ns.Scan("b", "a").ToList());
            Assert.Equal("v", ns.Get("k"));
        }

        string notAStore = Path.Combine(_dir.Root, "plain");
        Directory.CreateDirectory(notAStore);
        File.WriteAllText(Path.Combine(notAStore, "data.txt"), "hello");
        var ex = Assert.Throws<EngineException>(() => EncryptedStore.Open(new StoreOptions { Path = notAStore, CmekUri = _dir.CmekUri }));
        Assert.Contains("not an encrypted store", ex.Message, StringComparison.Ordinal);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(notAStore, "data.txt")));

        string missing = Path.Combine(_dir.Root, "missing");
        Assert.Throws<EngineException>(() => EncryptedStore.Open(new StoreOptions { Path = missing, CmekUri = _dir.CmekUri, CreateIfMissing = false }));
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void Unicode_namespace_names_round_trip()
    {
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("Mandant-ü-日本").Put("k", "v");
        }
        using (EncryptedStore store = _dir.Open())
        {
            Assert.Equal(["Mandant-ü-日本"], store.ListNamespaces());
            Assert.Equal("v", store.GetNamespace("Mandant-ü-日本").Get("k"));
        }
    }

    [Fact]
    public void Closed_store_refuses_calls()
    {
        EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("x");
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ns.Get("k"));
        store.Dispose(); // idempotent
    }
}
