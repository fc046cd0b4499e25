using RocksDbSharp;

namespace Engine.Bench.Systems;

/// <summary>
/// A RocksDB opened through RocksDbSharp with the engine's options: the store behind "plain" and
/// "stock-ctr". Every call mirrors what the engine's StoreNamespace does (same overloads, same
/// read/write options, a new iterator per scan or seek), minus the engine's own layers.
/// </summary>
internal sealed class RocksDbStore : IKvStore
{
    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _cf;
    private readonly Cache _cache;
    private readonly WriteOptions _write = new WriteOptions().SetSync(false);
    private readonly ReadOptions _read = new();
    private readonly Action? _onClose;

    public RocksDbStore(string directory, long blockCacheBytes, IntPtr env, Action? onClose = null)
    {
        _db = RocksDbSetup.Open(directory, blockCacheBytes, env, out _cf, out _cache);
        _onClose = onClose;
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _db.Put(key, value, _cf, _write);

    public void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count)
    {
        using var batch = new WriteBatch();
        for (int i = 0; i < count; i++)
        {
            batch.Put(keys.Slice(i * keySize, keySize), values.Slice(i * valueSize, valueSize), _cf);
        }
        _db.Write(batch, _write);
    }

    public int Get(ReadOnlySpan<byte> key) => _db.Get(key, _cf, _read)?.Length ?? -1;

    public long ScanAll()
    {
        long count = 0;
        using Iterator it = _db.NewIterator(_cf, _read);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            // Materialise key and value as the engine's Scan does (it yields byte[] pairs).
            _ = it.Key();
            _ = it.Value();
            count++;
        }
        return count;
    }

    public int SeekAndRead(ReadOnlySpan<byte> key, int count)
    {
        int read = 0;
        using Iterator it = _db.NewIterator(_cf, _read);
        for (it.Seek(key.ToArray()); it.Valid() && read < count; it.Next())
        {
            _ = it.Key();
            _ = it.Value();
            read++;
        }
        return read;
    }

    public void FlushAndCompact() => RocksDbSetup.FlushAndCompact(_db, _cf);

    public void Dispose()
    {
        _db.Dispose();
        GC.KeepAlive(_cache);
        _onClose?.Invoke();
    }
}
