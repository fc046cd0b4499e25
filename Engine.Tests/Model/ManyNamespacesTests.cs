using System.Diagnostics;
using System.Globalization;
using Engine.Testing;
using Xunit.Abstractions;

namespace Engine.Tests.Model;

/// <summary>
/// Hundreds of namespaces: each keeps its own data across flush, reopen, lock and unlock.
/// </summary>
/// <remarks>
/// Creating a namespace costs time linear in the number of namespaces (RocksDB rewrites and re-reads
/// the OPTIONS file of every column family on each CreateColumnFamily: about 50 ms per creation at 100
/// column families on plain RocksDB, about 80 ms with the plugin), so creating 250 one by one takes
/// half a minute. The test creates the first <see cref="CreatedOneByOne"/> through GetNamespace and
/// registers the rest in the key registry only: exactly what a crash between the registry write and the
/// column family creation leaves, which the next open completes in one go.
/// </remarks>
public sealed class ManyNamespacesTests(ITestOutputHelper output)
{
    private const int Count = 200;
    private const int CreatedOneByOne = 40;

    [Fact]
    public void Two_hundred_namespaces_keep_their_data_across_reopen_lock_and_unlock()
    {
        using var cmek = new TestCmek();
        using var memory = InMemoryStore.Open(cmek, o =>
        {
            o.CmekCheckInterval = TimeSpan.FromHours(1);
            o.KeyCacheTtl = TimeSpan.FromHours(1);
        });
        string[] names = [.. Enumerable.Range(0, Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"tenant-{i:D3}-é"))];
        var clock = Stopwatch.StartNew();
        foreach (string name in names.Take(CreatedOneByOne))
        {
            memory.Store.GetNamespace(name);
        }
        output.WriteLine($"created {CreatedOneByOne} namespaces one by one in {clock.ElapsedMilliseconds} ms");
        memory.Store.Run(s =>
        {
            foreach (string name in names.Skip(CreatedOneByOne))
            {
                s.Registry.CreateNamespace(name); // registry only: as a crash before the column family leaves it
            }
        });
        clock.Restart();
        EncryptedStore store = memory.Reopen();
        output.WriteLine($"reopened, creating {Count - CreatedOneByOne} column families, in {clock.ElapsedMilliseconds} ms");
        foreach (string name in names)
        {
            store.GetNamespace(name).Put("own"u8, System.Text.Encoding.UTF8.GetBytes(name));
        }
        store.GetNamespace(names[7]).Put([], []);
        store.Flush();

        clock.Restart();
        store = memory.Reopen();
        output.WriteLine($"reopened with {Count} namespaces in {clock.ElapsedMilliseconds} ms");
        AssertAll(store, names);

        cmek.Revoke();
        Assert.Equal(StoreState.Locked, store.RunCmekCheck());
        Assert.Throws<StoreLockedException>(() => store.GetNamespace(names[0]));
        cmek.Restore();
        clock.Restart();
        Assert.Equal(StoreState.Open, store.RunCmekCheck());
        output.WriteLine($"unlocked with {Count} namespaces in {clock.ElapsedMilliseconds} ms");
        AssertAll(store, names);
    }

    private static void AssertAll(EncryptedStore store, string[] names)
    {
        Assert.Equal(names.Order(StringComparer.Ordinal), store.ListNamespaces());
        foreach (string name in names)
        {
            Assert.True(store.TryGetNamespace(name, out StoreNamespace? ns));
            var entries = ns!.Scan((byte[]?)null, null).ToList();
            int expected = name == names[7] ? 2 : 1;
            Assert.Equal(expected, entries.Count);
            Assert.Equal(name, System.Text.Encoding.UTF8.GetString(ns.Get("own"u8)!));
        }
    }
}
