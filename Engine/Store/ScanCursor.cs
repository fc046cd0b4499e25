using System.Collections;
using System.Security.Cryptography;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// One enumeration of a scan: a RocksDB iterator owned by the store, opened on the first
/// <see cref="MoveNext"/>. The store releases cursors left open when it locks or closes, so an
/// abandoned enumeration cannot outlive the database.
/// </summary>
/// <remarks>
/// Entries are read in batches, one gate entry per batch: the first batches hold one entry (a
/// <c>Take(1)</c> or a short seek reads nothing it does not hand out), later ones grow with the
/// number of entries already consumed, up to <see cref="MaxBatch"/> entries or
/// <see cref="MaxBatchBytes"/>. Bounds are checked while filling, so nothing past them is read. A
/// buffered entry is handed out only while the store is open and the cursor not released, so a lock
/// or close between steps fails the next step exactly as it did when every step entered the gate.
/// </remarks>
internal sealed class ScanCursor : IEnumerator<KeyValuePair<byte[], byte[]>>, ISessionResource
{
    internal const int MaxBatch = 64;
    internal const int MaxBatchBytes = 64 * 1024;

    private readonly EncryptedStore _store;
    private readonly StoreNamespace _ns;
    private readonly byte[]? _from;
    private readonly byte[]? _to;
    private readonly byte[]? _prefix;
    private readonly StoreSnapshot? _snapshot;
    private readonly Lock _sync = new(); // the iterator against a Release from another thread
    private Iterator? _iterator;
    private volatile bool _released;
    private bool _tracked;
    private Phase _phase;
    private KeyValuePair<byte[], byte[]>[] _buffer = [];
    private int _count;
    private int _next;
    private long _consumed;

    public ScanCursor(EncryptedStore store, StoreNamespace ns, byte[]? from, byte[]? to, byte[]? prefix, StoreSnapshot? snapshot)
    {
        _snapshot = snapshot;
        _store = store;
        _ns = ns;
        _from = from;
        _to = to;
        _prefix = prefix;
    }

    private enum Phase
    {
        NotStarted,
        Reading,
        /// <summary>The iterator went invalid after the buffered entries: check its error, then end.</summary>
        Invalid,
        /// <summary>A key past the bounds was seen after the buffered entries: end without reading on.</summary>
        PastBounds,
        /// <summary>Ended, failed or disposed: MoveNext returns false (as a finished iterator method does).</summary>
        Done,
    }

    public KeyValuePair<byte[], byte[]> Current { get; private set; }

    /// <summary>Entries read ahead and not handed out yet (tests).</summary>
    internal int Buffered => _count - _next;

    object IEnumerator.Current => Current;

    public bool MoveNext()
    {
        if (_phase == Phase.Done)
        {
            return false;
        }
        if (_next < _count && !_released && !_store.IsGateClosed)
        {
            Current = _buffer[_next];
            _buffer[_next++] = default;
            _consumed++;
            return true;
        }
        bool more;
        try
        {
            more = Fill();
        }
        catch
        {
            // An iterator method disposes itself when its body throws; keep that behaviour.
            Dispose();
            throw;
        }
        if (!more)
        {
            Dispose(); // and when it reaches its end: the native iterator goes at once
        }
        return more;
    }

    /// <summary>Enters the gate once and reads the next batch (opening the iterator on the first call).</summary>
    private bool Fill()
    {
        _store.EnterGate();
        try
        {
            if (_phase == Phase.NotStarted)
            {
                // Created and tracked inside the gate, so a lock cannot slip in between and leave an
                // iterator on a closed database.
                StoreSession session = _store.Session;
                ReadOptions read = _snapshot?.ReadOptionsIn(_store, session) ?? _store.DefaultReadOptions;
                _iterator = session.Db.NewIterator(_ns.HandleIn(session), read);
                _store.Track(this);
                _tracked = true;
                _ns.Telemetry.ScanStarted();
            }
            lock (_sync)
            {
                Iterator it = _iterator ?? throw new ObjectDisposedException(nameof(ScanCursor), "The scan was closed because its store closed.");
                WipeUnread();
                _count = 0;
                _next = 0;
                switch (_phase)
                {
                    case Phase.NotStarted:
                        _phase = Phase.Reading;
                        if (_from is null)
                        {
                            it.SeekToFirst();
                        }
                        else
                        {
                            it.Seek(_from);
                        }
                        break;
                    case Phase.Invalid:
                        ThrowIfFailed(it);
                        return false;
                    case Phase.PastBounds:
                        return false;
                    default:
                        it.Next();
                        break;
                }
                return ReadBatch(it);
            }
        }
        catch (RocksDbException ex)
        {
            throw _store.Translate(ex);
        }
        finally
        {
            _store.ExitGate();
        }
    }

    /// <summary>Reads from the current position; the first entry becomes Current, the rest are buffered.</summary>
    private bool ReadBatch(Iterator it)
    {
        if (!it.Valid())
        {
            ThrowIfFailed(it);
            return false;
        }
        byte[] key = it.Key();
        if (PastBounds(key))
        {
            return false;
        }
        byte[] value = it.Value();
        Current = new(key, value);
        _consumed++;

        // Grow the batch with what the caller has taken so far: a caller that stops early wastes
        // at most about an eighth of what it read.
        int more = (int)Math.Min(_consumed >> 3, MaxBatch) - 1;
        if (more <= 0)
        {
            _ns.Telemetry.Scanned(1, key.Length + value.Length);
            return true;
        }
        if (_buffer.Length < more)
        {
            _buffer = new KeyValuePair<byte[], byte[]>[more];
        }
        long bytes = key.Length + value.Length;
        while (_count < more && bytes < MaxBatchBytes)
        {
            it.Next();
            if (!it.Valid())
            {
                _phase = Phase.Invalid;
                break;
            }
            key = it.Key();
            if (PastBounds(key))
            {
                _phase = Phase.PastBounds;
                break;
            }
            value = it.Value();
            _buffer[_count++] = new(key, value);
            bytes += key.Length + value.Length;
        }
        _ns.Telemetry.Scanned(1 + _count, bytes);
        return true;
    }

    private bool PastBounds(byte[] key) =>
        (_to is not null && key.AsSpan().SequenceCompareTo(_to) >= 0)
        || (_prefix is not null && !key.AsSpan().StartsWith(_prefix));

    /// <summary>An invalid iterator may mean the end or an error (an unauthenticated block).</summary>
    private static void ThrowIfFailed(Iterator it) => Native.Instance.rocksdb_iter_get_error(it.Handle);

    /// <summary>Frees the iterator; called by the store on lock or close, before the database goes away.</summary>
    public void Release(bool storeClosing = false)
    {
        lock (_sync)
        {
            _released = true;
            _iterator?.Dispose();
            _iterator = null;
        }
    }

    public void Reset() => throw new NotSupportedException();

    /// <summary>
    /// Zeroes the read-ahead entries the caller never received (their arrays are the engine's, not the
    /// caller's): a scan stopped early or cut by a lock leaves no plaintext batch behind. Consumer thread only.
    /// </summary>
    private void WipeUnread()
    {
        for (int i = _next; i < _count; i++)
        {
            CryptographicOperations.ZeroMemory(_buffer[i].Key);
            CryptographicOperations.ZeroMemory(_buffer[i].Value);
            _buffer[i] = default;
        }
    }

    public void Dispose()
    {
        _phase = Phase.Done;
        WipeUnread();
        _count = 0;
        _next = 0;
        if (_tracked)
        {
            _tracked = false;
            Release();
            _store.Untrack(this);
        }
    }
}

/// <summary>A scan's range; every enumeration opens its own cursor, lazily.</summary>
internal sealed class ScanRange(EncryptedStore store, StoreNamespace ns, byte[]? from, byte[]? to, byte[]? prefix, StoreSnapshot? snapshot) : IEnumerable<KeyValuePair<byte[], byte[]>>
{
    public IEnumerator<KeyValuePair<byte[], byte[]>> GetEnumerator() => new ScanCursor(store, ns, from, to, prefix, snapshot);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
