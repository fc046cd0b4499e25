using RocksDbSharp;

namespace Engine;

/// <summary>
/// A RocksDB iterator owned by the store: each step enters the store's gate, and the store releases
/// cursors left open when it closes, so an abandoned enumeration cannot outlive the database.
/// </summary>
internal sealed class ScanCursor : IDisposable
{
    private readonly EncryptedStore _store;
    private readonly Lock _sync = new();
    private Iterator? _iterator;
    private bool _started;
    private readonly byte[]? _from;

    public ScanCursor(EncryptedStore store, StoreNamespace ns, byte[]? from)
    {
        _store = store;
        _from = from;
        // Created and tracked inside the gate, so a lock cannot slip in between and leave an
        // iterator on a closed database.
        store.Run(s =>
        {
            _iterator = s.Db.NewIterator(ns.HandleIn(s), store.DefaultReadOptions);
            store.Track(this);
        });
    }

    public bool MoveNext([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
    {
        key = null;
        value = null;
        byte[]? k = null;
        byte[]? v = null;
        bool valid = _store.Run(_ =>
        {
            lock (_sync)
            {
                Iterator it = _iterator ?? throw new ObjectDisposedException(nameof(ScanCursor), "The scan was closed because its store closed.");
                if (!_started)
                {
                    _started = true;
                    if (_from is null)
                    {
                        it.SeekToFirst();
                    }
                    else
                    {
                        it.Seek(_from);
                    }
                }
                else
                {
                    it.Next();
                }
                if (!it.Valid())
                {
                    ThrowIfFailed(it);
                    return false;
                }
                k = it.Key();
                v = it.Value();
                return true;
            }
        });
        key = k;
        value = v;
        return valid;
    }

    /// <summary>An invalid iterator may mean the end or an error (an unauthenticated block).</summary>
    private static void ThrowIfFailed(Iterator it) => Native.Instance.rocksdb_iter_get_error(it.Handle);

    /// <summary>Frees the iterator; called by the store on close, before the database goes away.</summary>
    public void Release()
    {
        lock (_sync)
        {
            _iterator?.Dispose();
            _iterator = null;
        }
    }

    public void Dispose()
    {
        Release();
        _store.Untrack(this);
    }
}
