using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

/// <summary>
/// Scans read entries in batches (ScanCursor): bounds, prefixes, early stops, and a lock, close or
/// dispose in the middle of a batch behave as when every step went to RocksDB.
/// </summary>
public sealed class ScanBatchTests : IDisposable
{
    private const int Count = 1500;
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"k{i:D5}");

    private static List<int> Indexes(IEnumerable<KeyValuePair<byte[], byte[]>> entries) =>
        [.. entries.Select(kv =>
        {
            int i = int.Parse(Encoding.ASCII.GetString(kv.Key.AsSpan(1)), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Value(i, kv.Value.Length), kv.Value);
            return i;
        })];

    private static byte[] Value(int i, int length)
    {
        byte[] value = new byte[length];
        value.AsSpan().Fill((byte)i);
        return value;
    }

    private static StoreNamespace Fill(EncryptedStore store, int valueLength = 20)
    {
        StoreNamespace ns = store.GetNamespace("scan");
        for (int i = 0; i < Count; i++)
        {
            ns.Put(Key(i), Value(i, valueLength));
        }
        return ns;
    }

    [Theory]
    [InlineData(20)]
    [InlineData(20_000)] // a few entries fill the 64 KiB of a batch
    public void Bounded_scans_return_exactly_the_range_across_batches(int valueLength)
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store, valueLength);
        store.Flush();
        Assert.Equal(Enumerable.Range(0, Count), Indexes(ns.Scan()));
        foreach ((int from, int to) in new[] { (0, 1), (0, 64), (3, 700), (17, 18), (500, Count), (1499, 1500), (900, 900) })
        {
            Assert.Equal(Enumerable.Range(from, to - from), Indexes(ns.Scan(Key(from), Key(to))));
        }
        Assert.Equal(Enumerable.Range(1000, Count - 1000), Indexes(ns.Scan(Key(1000), Encoding.ASCII.GetBytes("l"))));
        Assert.Equal(Enumerable.Range(0, 10), Indexes(ns.Scan(null, Key(10))));
        Assert.Empty(ns.Scan(Encoding.ASCII.GetBytes("l")));
    }

    [Fact]
    public void Prefix_scans_stop_at_the_first_key_outside_the_prefix()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        Assert.Equal(Enumerable.Range(1000, 500), Indexes(ns.ScanPrefix(Encoding.ASCII.GetBytes("k01"))));
        Assert.Equal(Enumerable.Range(120, 10), Indexes(ns.ScanPrefix(Encoding.ASCII.GetBytes("k0012"))));
        Assert.Equal([777], Indexes(ns.ScanPrefix(Key(777))));
        Assert.Empty(ns.ScanPrefix(Encoding.ASCII.GetBytes("k2")));
        Assert.Equal(Count, ns.ScanPrefix([]).Count());
    }

    [Fact]
    public void Early_stops_read_ahead_little_and_free_the_iterator()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        Assert.Equal([0], Indexes(ns.Scan().Take(1)));
        Assert.Equal([42], Indexes(ns.Scan(Key(42)).Take(1)));
        Assert.Equal(Enumerable.Range(5, 10), Indexes(ns.Scan(Key(5)).Take(10)));

        using var cursor = (ScanCursor)ns.Scan().GetEnumerator();
        for (int i = 0; i < 15; i++)
        {
            Assert.True(cursor.MoveNext());
            Assert.Equal(0, cursor.Buffered); // short scans read one entry per step
        }
        int read = 15;
        while (cursor.MoveNext())
        {
            Assert.True(cursor.Buffered < ScanCursor.MaxBatch);
            // What a caller stopping now would have read for nothing: about an eighth of what it took.
            Assert.True(cursor.Buffered <= (++read / 8) + 1, $"{cursor.Buffered} buffered after {read} entries");
        }
        Assert.Equal(Count, read);
        Assert.Equal(0, store.OpenScans); // freed at the end, before Dispose
    }

    [Fact]
    public void A_lock_between_steps_fails_the_next_step_even_with_entries_buffered()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        using IEnumerator<KeyValuePair<byte[], byte[]>> scan = ns.Scan().GetEnumerator();
        StepUntilBuffered(scan);
        store.Lock("test");
        Assert.Throws<StoreLockedException>(() => scan.MoveNext());
        store.Unlock();
        Assert.False(scan.MoveNext()); // a step that threw ended the enumeration, as an iterator method's does
    }

    [Fact]
    public void A_lock_and_unlock_between_steps_closes_the_scan()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        using IEnumerator<KeyValuePair<byte[], byte[]>> scan = ns.Scan().GetEnumerator();
        StepUntilBuffered(scan);
        store.Lock("test");
        store.Unlock();
        ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(() => scan.MoveNext());
        Assert.Contains("scan was closed because its store closed", e.Message, StringComparison.Ordinal);
        Assert.Equal(Count, ns.Scan().Count()); // a new scan sees everything
    }

    [Fact]
    public void Closing_the_store_mid_scan_fails_the_next_step()
    {
        EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        using IEnumerator<KeyValuePair<byte[], byte[]>> scan = ns.Scan().GetEnumerator();
        StepUntilBuffered(scan);
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scan.MoveNext());
        Assert.False(scan.MoveNext());
    }

    [Fact]
    public void Disposing_a_scan_mid_batch_frees_it_and_ends_it()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = Fill(store);
        IEnumerator<KeyValuePair<byte[], byte[]>> scan = ns.Scan().GetEnumerator();
        StepUntilBuffered(scan);
        Assert.Equal(1, store.OpenScans);
        scan.Dispose();
        Assert.Equal(0, store.OpenScans);
        Assert.False(scan.MoveNext());
        scan.Dispose(); // twice is fine
        IEnumerator<KeyValuePair<byte[], byte[]>> unstarted = ns.Scan().GetEnumerator();
        unstarted.Dispose(); // never opened an iterator
        Assert.False(unstarted.MoveNext());
        Assert.Equal(0, store.OpenScans);
        Assert.Equal(Count, ns.Scan().Count());
    }

    [Fact]
    public void Each_enumeration_reads_lazily_and_independently()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("lazy");
        IEnumerable<KeyValuePair<byte[], byte[]>> scan = ns.Scan();
        Assert.Equal(0, store.OpenScans);
        ns.Put(Key(1), Value(1, 3)); // written after Scan() returned: still seen, nothing was read yet
        Assert.Equal([1], Indexes(scan));
        ns.Put(Key(2), Value(2, 3));
        Assert.Equal([1, 2], Indexes(scan));
        Assert.Throws<NotSupportedException>(() => scan.GetEnumerator().Reset());
    }

    private static void StepUntilBuffered(IEnumerator<KeyValuePair<byte[], byte[]>> scan)
    {
        var cursor = (ScanCursor)scan;
        int steps = 0;
        while (cursor.Buffered == 0)
        {
            Assert.True(scan.MoveNext());
            steps++;
        }
        Assert.True(steps < Count / 2);
    }
}
