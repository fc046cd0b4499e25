using System.Security.Cryptography;
using Engine.Crypto;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// A seekable, bidirectional position in one namespace (a RocksDB iterator): move it with
/// <see cref="Seek"/>, <see cref="SeekForPrev"/>, <see cref="SeekToFirst"/>, <see cref="SeekToLast"/>,
/// <see cref="Next"/> and <see cref="Prev"/>, then read <see cref="Key"/> and <see cref="Value"/> while
/// <see cref="IsValid"/>. Open one with <see cref="StoreNamespace.OpenCursor"/>; dispose it when done.
/// </summary>
/// <remarks>
/// <para>A cursor reads a consistent view: the data as of its <see cref="CursorOptions.Snapshot"/>, or as of
/// the moment it opened. A new cursor starts unpositioned (<see cref="IsValid"/> false).</para>
/// <para>Moves allocate nothing. <see cref="Key"/> and <see cref="Value"/> are copied out of RocksDB into
/// buffers the cursor owns and reuses (so a lock, which frees the native iterator, can never leave a
/// span pointing at freed memory); they stay valid until the next move or <see cref="Dispose"/>, which
/// zeroes the buffers.</para>
/// <para>A lock of the store releases the cursor: its next move throws <see cref="StoreLockedException"/>,
/// also after the store unlocked again (open a new cursor). Disposing after a lock or close is harmless.
/// One cursor is for one thread at a time.</para>
/// </remarks>
public sealed class StoreCursor : IDisposable, ISessionResource
{
    private readonly EncryptedStore _store;
    private readonly byte[]? _lower;
    private readonly byte[]? _upper;
    private readonly Lock _sync = new(); // the iterator against a release by a lock on another thread
    private readonly ReadOptions _read; // referenced for as long as the iterator reads with it
    private Iterator? _iterator;
    private byte[] _keyBuffer = [];
    private byte[] _valueBuffer = [];
    private int _keyLength = -1; // -1: not copied since the last move
    private int _valueLength = -1;
    private bool _valid;
    private bool _releasedByClose;
    private bool _disposed;

    internal StoreCursor(EncryptedStore store, StoreNamespace ns, CursorOptions options)
    {
        _store = store;
        (_lower, _upper) = options.EffectiveBounds();
        _read = new ReadOptions();
        if (_lower is not null)
        {
            _read.SetIterateLowerBound(_lower);
        }
        if (_upper is not null)
        {
            _read.SetIterateUpperBound(_upper);
        }
        _store.EnterGate();
        try
        {
            // Created and tracked inside the gate: a lock cannot slip in between and leave an iterator
            // on a closed database.
            StoreSession session = _store.Session;
            if (options.Snapshot is StoreSnapshot snapshot)
            {
                Native.Instance.rocksdb_readoptions_set_snapshot(_read.Handle, snapshot.HandleIn(store, session));
            }
            _iterator = session.Db.NewIterator(ns.HandleIn(session), _read);
            _store.Track(this);
        }
        catch (RocksDbException ex)
        {
            throw NativeErrors.Translate(ex);
        }
        finally
        {
            _store.ExitGate();
        }
    }

    /// <summary>True when the cursor is on an entry; false before the first seek and after moving past either end.</summary>
    public bool IsValid => _valid;

    /// <summary>The key of the current entry; valid until the next move.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not on an entry (<see cref="IsValid"/> is false).</exception>
    /// <exception cref="StoreLockedException">The store locked since the last move.</exception>
    /// <exception cref="ObjectDisposedException">The cursor or its store is disposed.</exception>
    public ReadOnlySpan<byte> Key
    {
        get
        {
            if (_keyLength < 0)
            {
                _keyLength = CopyCurrent(key: true, ref _keyBuffer);
            }
            return _keyBuffer.AsSpan(0, _keyLength);
        }
    }

    /// <summary>The value of the current entry; valid until the next move.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not on an entry (<see cref="IsValid"/> is false).</exception>
    /// <exception cref="StoreLockedException">The store locked since the last move.</exception>
    /// <exception cref="ObjectDisposedException">The cursor or its store is disposed.</exception>
    public ReadOnlySpan<byte> Value
    {
        get
        {
            if (_valueLength < 0)
            {
                _valueLength = CopyCurrent(key: false, ref _valueBuffer);
            }
            return _valueBuffer.AsSpan(0, _valueLength);
        }
    }

    /// <summary>Moves to the first key at or after <paramref name="target"/> (within the bounds).</summary>
    /// <exception cref="StoreLockedException">The store is locked, or locked since the cursor opened.</exception>
    /// <exception cref="IntegrityException">A block failed authentication.</exception>
    /// <exception cref="ObjectDisposedException">The cursor or its store is disposed.</exception>
    public bool Seek(ReadOnlySpan<byte> target)
    {
        if (_lower is not null && target.SequenceCompareTo(_lower) < 0)
        {
            target = _lower;
        }
        return Move(new MoveArgs(MoveKind.Seek, target));
    }

    /// <summary>Moves to the last key at or before <paramref name="target"/> (within the bounds).</summary>
    /// <inheritdoc cref="Seek" path="/exception"/>
    public bool SeekForPrev(ReadOnlySpan<byte> target)
    {
        if (_upper is not null && target.SequenceCompareTo(_upper) >= 0)
        {
            return Move(new MoveArgs(MoveKind.Last, default)); // the upper bound is exclusive
        }
        return Move(new MoveArgs(MoveKind.SeekForPrev, target));
    }

    /// <summary>Moves to the first key (within the bounds).</summary>
    /// <inheritdoc cref="Seek" path="/exception"/>
    public bool SeekToFirst() => Move(new MoveArgs(MoveKind.First, default));

    /// <summary>Moves to the last key (within the bounds).</summary>
    /// <inheritdoc cref="Seek" path="/exception"/>
    public bool SeekToLast() => Move(new MoveArgs(MoveKind.Last, default));

    /// <summary>Moves to the next key.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not on an entry.</exception>
    /// <inheritdoc cref="Seek" path="/exception"/>
    public bool Next() => Move(new MoveArgs(MoveKind.Next, default));

    /// <summary>Moves to the previous key.</summary>
    /// <exception cref="InvalidOperationException">The cursor is not on an entry.</exception>
    /// <inheritdoc cref="Seek" path="/exception"/>
    public bool Prev() => Move(new MoveArgs(MoveKind.Prev, default));

    private enum MoveKind
    {
        Seek,
        SeekForPrev,
        First,
        Last,
        Next,
        Prev,
    }

    private readonly ref struct MoveArgs(MoveKind kind, ReadOnlySpan<byte> target)
    {
        public readonly MoveKind Kind = kind;
        public readonly ReadOnlySpan<byte> Target = target;
    }

    /// <summary>One gate entry per move; returns <see cref="IsValid"/> after it.</summary>
    private bool Move(MoveArgs args)
    {
        bool wasValid = _valid;
        _keyLength = -1;
        _valueLength = -1;
        _valid = false;
        _store.EnterGate();
        try
        {
            lock (_sync)
            {
                Iterator it = LiveIterator();
                if (args.Kind is MoveKind.Next or MoveKind.Prev && !wasValid)
                {
                    throw new InvalidOperationException("The cursor is not on an entry: seek first.");
                }
                switch (args.Kind)
                {
                    case MoveKind.Seek:
                        it.Seek(args.Target);
                        break;
                    case MoveKind.SeekForPrev:
                        it.SeekForPrev(args.Target);
                        break;
                    case MoveKind.First:
                        it.SeekToFirst();
                        break;
                    case MoveKind.Last:
                        it.SeekToLast();
                        break;
                    case MoveKind.Next:
                        it.Next();
                        break;
                    default:
                        it.Prev();
                        break;
                }
                _valid = it.Valid();
                if (!_valid)
                {
                    // Invalid means the end of the range, or an error (an unauthenticated block).
                    Native.Instance.rocksdb_iter_get_error(it.Handle);
                }
                return _valid;
            }
        }
        catch (RocksDbException ex)
        {
            throw NativeErrors.Translate(ex);
        }
        finally
        {
            _store.ExitGate();
        }
    }

    /// <summary>Copies the current key or value into <paramref name="buffer"/> (grown, never shrunk) inside the gate.</summary>
    private int CopyCurrent(bool key, ref byte[] buffer)
    {
        if (!_valid)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("The cursor is not on an entry.");
        }
        _store.EnterGate();
        try
        {
            lock (_sync)
            {
                Iterator it = LiveIterator();
                ReadOnlySpan<byte> source = key ? it.GetKeySpan() : it.GetValueSpan();
                if (buffer.Length < source.Length)
                {
                    CryptographicOperations.ZeroMemory(buffer);
                    buffer = new byte[Math.Max(source.Length, Math.Min(buffer.Length * 2, int.MaxValue / 2))];
                }
                source.CopyTo(buffer);
                return source.Length;
            }
        }
        finally
        {
            _store.ExitGate();
        }
    }

    /// <summary>The iterator, or the error of the lock or close that released it; call under <see cref="_sync"/>.</summary>
    private Iterator LiveIterator()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _iterator ?? throw (_releasedByClose
            ? new ObjectDisposedException(nameof(StoreCursor), "The cursor was closed because its store closed.")
            : new StoreLockedException("the cursor was released when the store locked; open a new one", DateTimeOffset.UtcNow));
    }

    /// <summary>Called by the store on lock or close, with the gate drained.</summary>
    void ISessionResource.Release(bool storeClosing)
    {
        lock (_sync)
        {
            _releasedByClose |= storeClosing;
            _iterator?.Dispose();
            _iterator = null;
            _valid = false;
        }
    }

    /// <summary>Frees the iterator and zeroes the key and value buffers. Idempotent; harmless after a lock or close.</summary>
    public void Dispose()
    {
        bool tracked;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            tracked = _iterator is not null;
            _iterator?.Dispose(); // under _sync: a lock's release of this cursor waits, then finds nothing
            _iterator = null;
            _valid = false;
            CryptographicOperations.ZeroMemory(_keyBuffer);
            CryptographicOperations.ZeroMemory(_valueBuffer);
        }
        if (tracked)
        {
            _store.Untrack(this);
        }
    }
}
