using System.Buffers;
using Engine.Crypto;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

public sealed partial class StoreNamespace
{
    /// <summary>Returns the value stored under <paramref name="key"/> as of <paramref name="snapshot"/>, or null when there is none.</summary>
    /// <param name="key">Key bytes.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the latest data.</param>
    /// <exception cref="ArgumentException">The snapshot belongs to another store.</exception>
    /// <exception cref="StoreLockedException">The store is locked, or a lock released the snapshot.</exception>
    /// <exception cref="IntegrityException">The bytes holding the value failed authentication.</exception>
    /// <exception cref="ObjectDisposedException">The store or the snapshot is disposed.</exception>
    public byte[]? Get(ReadOnlySpan<byte> key, StoreSnapshot? snapshot)
    {
        CheckKey(key);
        return _store.Run(new ReadArgs(this, key, snapshot), static (s, a) => s.Db.Get(a.Key, a.Ns.HandleIn(s), a.Ns.ReadOptionsFor(a.Snapshot, s)));
    }

    /// <summary>
    /// Copies the value stored under <paramref name="key"/> into <paramref name="destination"/> without
    /// allocating (RocksDB's pinned read: the value is copied once, from the block cache).
    /// </summary>
    /// <param name="key">Key bytes.</param>
    /// <param name="destination">Receives the value when it fits.</param>
    /// <param name="valueLength">The value's length when found (also when it did not fit), otherwise 0.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the latest data.</param>
    /// <returns>False when the key has no value. True when it has one: copied when
    /// <paramref name="valueLength"/> &lt;= <paramref name="destination"/>'s length, otherwise nothing is
    /// copied (retry with a buffer of <paramref name="valueLength"/> bytes).</returns>
    /// <inheritdoc cref="Get(ReadOnlySpan{byte}, StoreSnapshot)" path="/exception"/>
    public bool TryGet(ReadOnlySpan<byte> key, Span<byte> destination, out int valueLength, StoreSnapshot? snapshot = null)
    {
        CheckKey(key);
        valueLength = _store.Run(new CopyArgs(this, key, destination, snapshot), static (s, a) => a.Ns.ReadPinned(s, a.Key, a.Snapshot, a.Destination, null));
        if (valueLength < 0)
        {
            valueLength = 0;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Writes the value stored under <paramref name="key"/> to <paramref name="destination"/> (one
    /// <see cref="IBufferWriter{T}.GetSpan"/> of the value's length, then <see cref="IBufferWriter{T}.Advance"/>);
    /// nothing is allocated by the store. Nothing is written when the key has no value.
    /// </summary>
    /// <param name="key">Key bytes.</param>
    /// <param name="destination">Receives the value.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the latest data.</param>
    /// <returns>True when the key has a value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    /// <inheritdoc cref="Get(ReadOnlySpan{byte}, StoreSnapshot)" path="/exception"/>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, StoreSnapshot? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CheckKey(key);
        return _store.Run(new CopyArgs(this, key, default, snapshot), (s, a) => a.Ns.ReadPinned(s, a.Key, a.Snapshot, default, destination)) >= 0;
    }

    /// <summary>True when <paramref name="key"/> has a value (an exact read, not a filter's guess); the value is not copied.</summary>
    /// <param name="key">Key bytes.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the latest data.</param>
    /// <inheritdoc cref="Get(ReadOnlySpan{byte}, StoreSnapshot)" path="/exception"/>
    public bool Contains(ReadOnlySpan<byte> key, StoreSnapshot? snapshot = null)
    {
        CheckKey(key);
        return _store.Run(new CopyArgs(this, key, default, snapshot), static (s, a) => a.Ns.ReadPinned(s, a.Key, a.Snapshot, default, null, copy: false)) >= 0;
    }

    /// <summary>
    /// Reads many keys at once through RocksDB's batched MultiGet (one pass over the files for all keys,
    /// all of them as of one point in time).
    /// </summary>
    /// <param name="keys">The keys; may repeat.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the latest data.</param>
    /// <returns>One entry per key, in the order of <paramref name="keys"/>: the value, or null when there is none.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> or one of its keys is null.</exception>
    /// <exception cref="ArgumentException">A key exceeds <see cref="StoreOptions.MaxKeyBytes"/>, or the snapshot belongs to another store.</exception>
    /// <exception cref="StoreLockedException">The store is locked, or a lock released the snapshot.</exception>
    /// <exception cref="IntegrityException">The bytes holding a value failed authentication.</exception>
    /// <exception cref="ObjectDisposedException">The store or the snapshot is disposed.</exception>
    public byte[]?[] MultiGet(IReadOnlyList<byte[]> keys, StoreSnapshot? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        int total = 0;
        for (int i = 0; i < keys.Count; i++)
        {
            byte[] key = keys[i] ?? throw new ArgumentNullException(nameof(keys), $"Key {i} is null.");
            CheckKey(key);
            total += key.Length;
        }
        return _store.Run((Ns: this, Keys: keys, Total: total, Snapshot: snapshot), static (s, a) => a.Ns.MultiGetIn(s, a.Keys, a.Total, a.Snapshot));
    }

    /// <summary>Enumerates entries with <paramref name="from"/> &lt;= key &lt; <paramref name="to"/> as of <paramref name="snapshot"/>.</summary>
    /// <param name="from">Inclusive lower bound; null: open.</param>
    /// <param name="to">Exclusive upper bound; null: open.</param>
    /// <param name="snapshot">A snapshot of this namespace's store; null reads the data as of the enumeration's first step.</param>
    /// <exception cref="ArgumentException"><paramref name="from"/> is greater than <paramref name="to"/>.</exception>
    /// <exception cref="StoreLockedException">(While enumerating) the store is locked, or a lock released the snapshot.</exception>
    /// <exception cref="IntegrityException">A block failed authentication while scanning.</exception>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Scan(byte[]? from, byte[]? to, StoreSnapshot? snapshot)
    {
        if (from is not null && to is not null && from.AsSpan().SequenceCompareTo(to) > 0)
        {
            throw new ArgumentException("Scan bounds are reversed: from is greater than to.", nameof(from));
        }
        return new ScanRange(_store, this, from is null ? null : (byte[])from.Clone(), to is null ? null : (byte[])to.Clone(), null, snapshot);
    }

    /// <summary>
    /// Opens a seekable, bidirectional cursor over this namespace (see <see cref="StoreCursor"/>); dispose it when done.
    /// </summary>
    /// <param name="options">Bounds, prefix and snapshot; null: every key, latest data.</param>
    /// <exception cref="ArgumentException">The bounds are reversed, or the snapshot belongs to another store.</exception>
    /// <exception cref="StoreLockedException">The store is locked, or a lock released the snapshot.</exception>
    /// <exception cref="ObjectDisposedException">The store or the snapshot is disposed.</exception>
    public StoreCursor OpenCursor(CursorOptions? options = null) => new(_store, this, options ?? new CursorOptions());

    /// <summary>The read options of a read inside the gate: the snapshot's, or the store's default.</summary>
    internal ReadOptions ReadOptionsFor(StoreSnapshot? snapshot, StoreSession session) =>
        snapshot is null ? _store.DefaultReadOptions : snapshot.ReadOptionsIn(_store, session);

    /// <summary>
    /// A pinned read: returns the value's length (-1 when absent) and copies it into
    /// <paramref name="span"/> when it fits, or into <paramref name="writer"/>.
    /// </summary>
    private unsafe int ReadPinned(StoreSession s, ReadOnlySpan<byte> key, StoreSnapshot? snapshot, Span<byte> span, IBufferWriter<byte>? writer, bool copy = true)
    {
        ReadOptions read = ReadOptionsFor(snapshot, s);
        nint cf = HandleIn(s).Handle;
        nint pinned;
        fixed (byte* k = key)
        {
            pinned = Native.Instance.rocksdb_get_pinned_cf(s.Db.Handle, read.Handle, cf, k, (nuint)key.Length);
        }
        if (pinned == 0)
        {
            return -1;
        }
        try
        {
            nint data = Native.Instance.rocksdb_pinnableslice_value(pinned, out nuint length);
            int size = checked((int)length);
            if (copy)
            {
                var value = new ReadOnlySpan<byte>((void*)data, size);
                if (writer is not null)
                {
                    value.CopyTo(writer.GetSpan(size));
                    writer.Advance(size);
                }
                else if (size <= span.Length)
                {
                    value.CopyTo(span);
                }
            }
            return size;
        }
        finally
        {
            Native.Instance.rocksdb_pinnableslice_destroy(pinned);
        }
    }

    private unsafe byte[]?[] MultiGetIn(StoreSession s, IReadOnlyList<byte[]> keys, int total, StoreSnapshot? snapshot)
    {
        ReadOptions read = ReadOptionsFor(snapshot, s); // checks the snapshot: also no keys through a released one is refused
        int n = keys.Count;
        if (n == 0)
        {
            return [];
        }
        byte[] packed = new byte[Math.Max(total, 1)];
        var pointers = new nint[n];
        var sizes = new nuint[n];
        var values = new nint[n];
        var errors = new nint[n];
        var result = new byte[]?[n];
        fixed (byte* keyBytes = packed)
        fixed (nint* valueSlots = values)
        {
            int offset = 0;
            for (int i = 0; i < n; i++)
            {
                byte[] key = keys[i];
                key.CopyTo(packed, offset);
                pointers[i] = (nint)(keyBytes + offset);
                sizes[i] = (nuint)key.Length;
                offset += key.Length;
            }
            Native.Instance.rocksdb_batched_multi_get_cf(s.Db.Handle, read.Handle, HandleIn(s).Handle, (nuint)n, pointers, sizes, (nint)valueSlots, errors, 0);
        }
        RocksDbException? failure = null;
        for (int i = 0; i < n; i++)
        {
            if (errors[i] != 0)
            {
                failure ??= new RocksDbException(errors[i]);
            }
            if (values[i] != 0)
            {
                if (failure is null)
                {
                    nint data = Native.Instance.rocksdb_pinnableslice_value(values[i], out nuint length);
                    result[i] = new ReadOnlySpan<byte>((void*)data, checked((int)length)).ToArray();
                }
                Native.Instance.rocksdb_pinnableslice_destroy(values[i]);
            }
        }
        return failure is null ? result : throw NativeErrors.Translate(failure);
    }

    private readonly ref struct ReadArgs(StoreNamespace ns, ReadOnlySpan<byte> key, StoreSnapshot? snapshot)
    {
        public readonly StoreNamespace Ns = ns;
        public readonly ReadOnlySpan<byte> Key = key;
        public readonly StoreSnapshot? Snapshot = snapshot;
    }

    private readonly ref struct CopyArgs(StoreNamespace ns, ReadOnlySpan<byte> key, Span<byte> destination, StoreSnapshot? snapshot)
    {
        public readonly StoreNamespace Ns = ns;
        public readonly ReadOnlySpan<byte> Key = key;
        public readonly Span<byte> Destination = destination;
        public readonly StoreSnapshot? Snapshot = snapshot;
    }
}
