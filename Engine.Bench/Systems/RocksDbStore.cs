using Engine.Bench.Workloads;
using RocksDbSharp;

namespace Engine.Bench.Systems;

/// <summary>
/// A RocksDB opened through RocksDbSharp with the engine's options: the store behind "plain" and
/// "stock-ctr". Every call mirrors what the engine's StoreNamespace does (same overloads, same
/// read/write options, a new iterator per scan or seek), minus the engine's own layers. Keys go to
/// the column family of their namespace (KeySpace.NamespaceOf), as the engine routes them to its
/// namespaces.
/// </summary>
internal sealed class RocksDbStore : IKvStore
{
    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle[] _cfs;
    private readonly Cache _cache;
    private readonly WriteOptions _write = new WriteOptions().SetSync(false);
    private readonly ReadOptions _read = new();
    private readonly Action? _onClose;

    /// <param name="namespaces">Column families to spread the keys over (ns-1 in ns/1, ...).</param>
    public RocksDbStore(string directory, long blockCacheBytes, IntPtr env, int namespaces, Action? onClose = null)
    {
        _db = RocksDbSetup.Open(directory, blockCacheBytes, env, namespaces, out _cfs, out _cache);
        _onClose = onClose;
    }

    private ColumnFamilyHandle FamilyOf(ReadOnlySpan<byte> key) => _cfs[KeySpace.NamespaceOf(key, _cfs.Length)];

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _db.Put(key, value, FamilyOf(key), _write);

    public void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count)
    {
        using var batch = new WriteBatch();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> key = keys.Slice(i * keySize, keySize);
            batch.Put(key, values.Slice(i * valueSize, valueSize), FamilyOf(key));
        }
        _db.Write(batch, _write);
    }

    public int Get(ReadOnlySpan<byte> key) => _db.Get(key, FamilyOf(key), _read)?.Length ?? -1;

    public long ScanAll()
    {
        long count = 0;
        foreach (ColumnFamilyHandle cf in _cfs)
        {
            using Iterator it = _db.NewIterator(cf, _read);
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                // Materialise key and value as the engine's Scan does (it yields byte[] pairs).
                _ = it.Key();
                _ = it.Value();
                count++;
            }
        }
        return count;
    }

    public int SeekAndRead(ReadOnlySpan<byte> key, int count)
    {
        int read = 0;
        using Iterator it = _db.NewIterator(FamilyOf(key), _read);
        for (it.Seek(key.ToArray()); it.Valid() && read < count; it.Next())
        {
            _ = it.Key();
            _ = it.Value();
            read++;
        }
        return read;
    }

    public void FlushAndCompact() => RocksDbSetup.FlushAndCompact(_db, _cfs);

    public void Dispose()
    {
        _db.Dispose();
        GC.KeepAlive(_cache);
        _onClose?.Invoke();
    }
}
