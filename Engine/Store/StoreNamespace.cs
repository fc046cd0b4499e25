using System.Text;
using Engine.Crypto;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// A namespace of an <see cref="EncryptedStore"/>: an ordered key space with its own key-encryption
/// key. Keys are ordered bytewise. Obtain one from <see cref="EncryptedStore.GetNamespace"/>; it stays
/// valid as long as its store is open. Thread-safe.
/// </summary>
public sealed partial class StoreNamespace
{
    private readonly EncryptedStore _store;
    private bool _removed;

    internal StoreNamespace(EncryptedStore store, NamespaceInfo info)
    {
        _store = store;
        Info = info;
        Telemetry = store.Telemetry.ForNamespace(info.Name);
    }

    /// <summary>This namespace's metric tags, prepared once.</summary>
    internal Diagnostics.NamespaceTelemetry Telemetry { get; }

    /// <summary>The namespace's name.</summary>
    public string Name => Info.Name;

    internal NamespaceInfo Info { get; }

    internal EncryptedStore Store => _store;

    /// <summary>Set (under the store's namespace lock) when the store forgets this instance: deleted, or its deletion resumed at open.</summary>
    internal bool Removed
    {
        get => Volatile.Read(ref _removed);
        set => Volatile.Write(ref _removed, value);
    }

    /// <summary>The column family of the current session (it changes when the store unlocks); call inside the gate.</summary>
    internal ColumnFamilyHandle HandleIn(StoreSession session) => session.HandleOf(Info);

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any previous value.</summary>
    /// <param name="key">Key bytes; may be empty.</param>
    /// <param name="value">Value bytes; may be empty.</param>
    /// <param name="sync">Fsync the write-ahead log before returning; null uses <see cref="StoreOptions.SyncWrites"/>.</param>
    /// <exception cref="ArgumentException">The key or value exceeds the configured limits.</exception>
    /// <exception cref="IntegrityException">Stored data failed authentication (the store is read-only from then on).</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool? sync = null)
    {
        _store.ThrowIfReadOnly("Put");
        CheckKey(key);
        CheckValue(value);
        _store.Run(new PointArgs(this, key, value, _store.WriteOptionsFor(sync)), static (s, a) =>
        {
            s.Db.Put(a.Key, a.Value, a.Ns.HandleIn(s), a.Write);
            return true;
        });
        Telemetry.Put(key.Length + value.Length);
    }

    /// <summary>Stores a UTF-8 encoded string value under a UTF-8 encoded string key.</summary>
    /// <exception cref="ArgumentNullException">A null key or value.</exception>
    public void Put(string key, string value, bool? sync = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), sync);
    }

    /// <summary>Returns the value stored under <paramref name="key"/>, or null when there is none.</summary>
    /// <exception cref="IntegrityException">The bytes holding the value failed authentication.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        byte[]? value = _store.Run(new PointArgs(this, key, default, null), static (s, a) => s.Db.Get(a.Key, a.Ns.HandleIn(s), a.Ns._store.DefaultReadOptions));
        Telemetry.Get(value is null ? 0 : key.Length + value.Length);
        return value;
    }

    /// <summary>Returns the UTF-8 string stored under a UTF-8 string key, or null when there is none.</summary>
    public string? Get(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[]? value = Get(Encoding.UTF8.GetBytes(key));
        return value is null ? null : Encoding.UTF8.GetString(value);
    }

    /// <summary>Removes <paramref name="key"/>; removing an absent key is not an error.</summary>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public void Delete(ReadOnlySpan<byte> key, bool? sync = null)
    {
        _store.ThrowIfReadOnly("Delete");
        CheckKey(key);
        _store.Run(new PointArgs(this, key, default, _store.WriteOptionsFor(sync)), static (s, a) =>
        {
            s.Db.Remove(a.Key, a.Ns.HandleIn(s), a.Write);
            return true;
        });
        Telemetry.Delete(key.Length);
    }

    /// <summary>Removes a UTF-8 string key.</summary>
    public void Delete(string key, bool? sync = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        Delete(Encoding.UTF8.GetBytes(key), sync);
    }

    /// <summary>
    /// Enumerates entries with <paramref name="from"/> &lt;= key &lt; <paramref name="to"/> in key order
    /// (null bounds are open). The enumeration reads lazily; dispose it (foreach does) when done.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="from"/> is greater than <paramref name="to"/>.</exception>
    /// <exception cref="IntegrityException">A block failed authentication while scanning.</exception>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Scan(byte[]? from = null, byte[]? to = null)
    {
        if (from is not null && to is not null && from.AsSpan().SequenceCompareTo(to) > 0)
        {
            throw new ArgumentException("Scan bounds are reversed: from is greater than to.", nameof(from));
        }
        return Scan(from, to, null);
    }

    /// <summary>Enumerates entries whose keys start with <paramref name="prefix"/>, in key order.</summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> ScanPrefix(byte[] prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        byte[] copy = (byte[])prefix.Clone();
        return new ScanRange(_store, this, copy, null, copy, null);
    }

    /// <summary>String convenience for <see cref="Scan(byte[], byte[])"/>: UTF-8 keys and values.</summary>
    public IEnumerable<KeyValuePair<string, string>> Scan(string? from, string? to)
    {
        foreach (KeyValuePair<byte[], byte[]> kv in Scan(from is null ? null : Encoding.UTF8.GetBytes(from), to is null ? null : Encoding.UTF8.GetBytes(to)))
        {
            yield return new(Encoding.UTF8.GetString(kv.Key), Encoding.UTF8.GetString(kv.Value));
        }
    }

    /// <summary>The arguments of a point operation, handed to a static lambda inside the gate (no closure per call).</summary>
    private readonly ref struct PointArgs(StoreNamespace ns, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, WriteOptions? write)
    {
        public readonly StoreNamespace Ns = ns;
        public readonly ReadOnlySpan<byte> Key = key;
        public readonly ReadOnlySpan<byte> Value = value;
        public readonly WriteOptions? Write = write;
    }

    private void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length > _store.Options.MaxKeyBytes)
        {
            throw new ArgumentException($"Key of {key.Length} bytes exceeds the limit of {_store.Options.MaxKeyBytes} bytes (StoreOptions.MaxKeyBytes).", nameof(key));
        }
    }

    internal void CheckValue(ReadOnlySpan<byte> value)
    {
        if (value.Length > _store.Options.MaxValueBytes)
        {
            throw new ArgumentException($"Value of {value.Length} bytes exceeds the limit of {_store.Options.MaxValueBytes} bytes (StoreOptions.MaxValueBytes).", nameof(value));
        }
    }

    internal void CheckEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckKey(key);
        CheckValue(value);
    }

    /// <inheritdoc />
    public override string ToString() => $"Namespace({Name})";
}
