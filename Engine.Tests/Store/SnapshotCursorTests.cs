using System.Buffers;
using System.Text;
using Engine.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

/// <summary>
/// The embedder's read API: snapshots (consistent across namespaces, released by a lock), cursors
/// (seek, both directions, bounds, prefixes, no allocation per step), TryGet, Contains and MultiGet.
/// </summary>
public sealed class SnapshotCursorTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    private static StoreNamespace Fill(EncryptedStore store, string name, int count)
    {
        StoreNamespace ns = store.GetNamespace(name);
        for (int i = 0; i < count; i++)
        {
            ns.Put($"k{i:D3}", $"v{i}");
        }
        return ns;
    }

    [Fact]
    public void A_snapshot_sees_every_namespace_as_it_was_and_nothing_written_later()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace a = Fill(store, "a", 10);
        StoreNamespace b = Fill(store, "b", 10);
        using StoreSnapshot snapshot = store.CreateSnapshot();
        a.Put("k001", "changed");
        a.Delete("k002");
        a.Put("k100", "new");
        b.Put("k001", "changed-b");
        store.Flush();

        Assert.Equal("v1", S(a.Get(B("k001"), snapshot)));
        Assert.Equal("v2", S(a.Get(B("k002"), snapshot)));
        Assert.Null(a.Get(B("k100"), snapshot));
        Assert.Equal("v1", S(b.Get(B("k001"), snapshot)));
        Assert.Equal("changed", a.Get("k001"));
        Assert.Null(a.Get("k002"));

        byte[]?[] values = a.MultiGet([B("k001"), B("k002"), B("k100"), B("k001")], snapshot);
        Assert.Equal(["v1", "v2", null, "v1"], values.Select(v => v is null ? null : S(v)));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"k{i:D3}"), a.Scan(null, null, snapshot).Select(kv => S(kv.Key)));
        Assert.True(a.Contains(B("k002"), snapshot));
        Assert.False(a.Contains(B("k002")));

        using StoreCursor cursor = a.OpenCursor(new CursorOptions { Snapshot = snapshot });
        Assert.True(cursor.SeekToLast());
        Assert.Equal("k009", S(cursor.Key));
        Assert.True(cursor.Seek(B("k001")));
        Assert.Equal("v1", S(cursor.Value));
    }

    [Fact]
    public void A_lock_releases_snapshots_and_cursors_their_use_throws_locked_and_dispose_is_harmless()
    {
        using EncryptedStore store = _dir.Open(o => o.AutoUnlock = false);
        StoreNamespace ns = Fill(store, "a", 5);
        StoreSnapshot snapshot = store.CreateSnapshot();
        StoreCursor cursor = ns.OpenCursor();
        Assert.True(cursor.SeekToFirst());
        Assert.Equal(2, store.OpenScans);

        store.Lock("test");
        Assert.Equal(0, store.OpenScans);
        Assert.Throws<StoreLockedException>(() => cursor.Next());
        Assert.Throws<StoreLockedException>(() => ns.Get(B("k001"), snapshot));

        store.Unlock();
        Assert.Equal("v1", ns.Get("k001"));
        Assert.Throws<StoreLockedException>(() => cursor.Next());
        Assert.Throws<StoreLockedException>(() => cursor.SeekToFirst());
        Assert.Throws<StoreLockedException>(() => ns.Get(B("k001"), snapshot));
        Assert.Throws<StoreLockedException>(() => ns.MultiGet([B("k001")], snapshot));
        Assert.Throws<StoreLockedException>(() => ns.OpenCursor(new CursorOptions { Snapshot = snapshot }));
        Assert.Throws<StoreLockedException>(() => ns.Scan(null, null, snapshot).ToList());
        cursor.Dispose();
        snapshot.Dispose();
        snapshot.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ns.Get(B("k001"), snapshot));
        Assert.Throws<ObjectDisposedException>(() => cursor.SeekToFirst());
    }

    [Fact]
    public void Snapshots_and_cursors_left_open_at_close_are_released_and_dispose_after_close_is_harmless()
    {
        EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store, "a", 5);
        StoreSnapshot snapshot = store.CreateSnapshot();
        StoreCursor cursor = ns.OpenCursor(new CursorOptions { Snapshot = snapshot });
        Assert.True(cursor.SeekToFirst());
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cursor.Next());
        cursor.Dispose();
        snapshot.Dispose();

        using EncryptedStore other = _dir.Open();
        Assert.Throws<ArgumentException>(() => other.GetNamespace("a").Get(B("k001"), snapshot));
    }

    [Fact]
    public void Cursor_walks_forward_and_backward_seeks_and_respects_bounds_and_prefixes()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store, "a", 30);
        ns.Put([], B("empty-key"));
        ns.Put([0xFF, 0xFF], B("ff"));
        ns.Put([0xFF, 0xFF, 0x01], B("ff1"));

        using (StoreCursor all = ns.OpenCursor())
        {
            Assert.False(all.IsValid);
            Assert.Throws<InvalidOperationException>(() => all.Next());
            var forward = new List<string>();
            for (bool ok = all.SeekToFirst(); ok; ok = all.Next())
            {
                forward.Add(Convert.ToHexString(all.Key));
            }
            var backward = new List<string>();
            for (bool ok = all.SeekToLast(); ok; ok = all.Prev())
            {
                backward.Add(Convert.ToHexString(all.Key));
            }
            Assert.Equal(33, forward.Count);
            Assert.Equal(forward.AsEnumerable().Reverse(), backward);
            Assert.Equal(forward.Order(StringComparer.Ordinal), forward);
            Assert.Throws<InvalidOperationException>(() => all.Key.ToArray());

            Assert.True(all.Seek(B("k0105")));
            Assert.Equal("k011", S(all.Key));
            Assert.True(all.SeekForPrev(B("k0105")));
            Assert.Equal("k010", S(all.Key));
            Assert.Equal("v10", S(all.Value));
            Assert.True(all.Prev());
            Assert.Equal("k009", S(all.Key));
        }

        using (StoreCursor bounded = ns.OpenCursor(new CursorOptions { LowerBound = B("k005"), UpperBound = B("k010") }))
        {
            Assert.True(bounded.SeekToFirst());
            Assert.Equal("k005", S(bounded.Key));
            Assert.True(bounded.SeekToLast());
            Assert.Equal("k009", S(bounded.Key));
            Assert.False(bounded.Next());
            Assert.True(bounded.Seek(B("a")));
            Assert.Equal("k005", S(bounded.Key));
            Assert.True(bounded.SeekForPrev(B("z")));
            Assert.Equal("k009", S(bounded.Key));
            Assert.False(bounded.SeekForPrev(B("k004")));
            Assert.False(bounded.Seek(B("k010")));
        }

        using (StoreCursor prefixed = ns.OpenCursor(new CursorOptions { Prefix = B("k01") }))
        {
            var keys = new List<string>();
            for (bool ok = prefixed.SeekToLast(); ok; ok = prefixed.Prev())
            {
                keys.Add(S(prefixed.Key));
            }
            Assert.Equal(Enumerable.Range(10, 10).Reverse().Select(i => $"k{i:D3}"), keys);
        }

        using (StoreCursor ff = ns.OpenCursor(new CursorOptions { Prefix = [0xFF, 0xFF] }))
        {
            Assert.True(ff.SeekToFirst());
            Assert.Equal("ff", S(ff.Value));
            Assert.True(ff.Next());
            Assert.Equal("ff1", S(ff.Value));
            Assert.False(ff.Next());
        }

        using (StoreCursor outside = ns.OpenCursor(new CursorOptions { Prefix = B("x"), UpperBound = B("b") }))
        {
            Assert.False(outside.SeekToFirst());
            Assert.False(outside.SeekToLast());
        }
        Assert.Throws<ArgumentException>(() => ns.OpenCursor(new CursorOptions { LowerBound = B("b"), UpperBound = B("a") }));
    }

    [Fact]
    public void TryGet_copies_into_a_span_or_a_buffer_writer_and_Contains_and_MultiGet_agree_with_Get()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store, "a", 20);
        ns.Put(B("empty"), []);
        store.Flush();
        ns.Put("k003", "memtable-value");

        Span<byte> buffer = stackalloc byte[64];
        Assert.True(ns.TryGet(B("k003"), buffer, out int length));
        Assert.Equal("memtable-value", S(buffer[..length]));
        Assert.True(ns.TryGet(B("k012"), buffer, out length));
        Assert.Equal("v12", S(buffer[..length]));
        Assert.True(ns.TryGet(B("k003"), buffer[..3], out length));
        Assert.Equal(14, length); // too small: nothing copied, the length says what is needed
        Assert.False(ns.TryGet(B("nope"), buffer, out length));
        Assert.Equal(0, length);
        Assert.True(ns.TryGet(B("empty"), buffer, out length));
        Assert.Equal(0, length);

        var writer = new ArrayBufferWriter<byte>();
        Assert.True(ns.TryGet(B("k005"), writer));
        Assert.True(ns.TryGet(B("k006"), writer));
        Assert.False(ns.TryGet(B("nope"), writer));
        Assert.Equal("v5v6", S(writer.WrittenSpan));

        Assert.True(ns.Contains(B("k019")));
        Assert.True(ns.Contains(B("empty")));
        Assert.False(ns.Contains(B("k020")));

        byte[][] keys = [.. Enumerable.Range(0, 25).Select(i => B($"k{i:D3}")), B("empty"), B("k003")];
        byte[]?[] values = ns.MultiGet(keys);
        Assert.Equal(keys.Select(k => ns.Get(k)), values);
        Assert.Empty(ns.MultiGet([]));
        Assert.Throws<ArgumentNullException>(() => ns.MultiGet([B("a"), null!]));
    }

    [Fact]
    public void Cursor_steps_and_span_reads_allocate_nothing()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store, "a", 500);
        store.Flush();
        using StoreCursor cursor = ns.OpenCursor();
        byte[] key = B("k123");
        byte[] buffer = new byte[64];
        long sum = Walk(cursor, ns, key, buffer); // warm up: buffers grow, code is jitted
        long before = GC.GetAllocatedBytesForCurrentThread();
        sum += Walk(cursor, ns, key, buffer);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sum > 0);
        Assert.Equal(0, allocated);

        static long Walk(StoreCursor cursor, StoreNamespace ns, byte[] key, byte[] buffer)
        {
            long sum = 0;
            for (bool ok = cursor.SeekToFirst(); ok; ok = cursor.Next())
            {
                sum += cursor.Key.Length + cursor.Value.Length;
            }
            for (bool ok = cursor.SeekToLast(); ok; ok = cursor.Prev())
            {
                sum += cursor.Key[^1];
            }
            for (int i = 0; i < 100; i++)
            {
                sum += ns.TryGet(key, buffer, out int length) ? length : 0;
                sum += ns.Contains(key) ? 1 : 0;
            }
            return sum;
        }
    }
}
