using System.Text;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// Puts and deletes across namespaces that <see cref="EncryptedStore.Write"/> applies atomically:
/// all or nothing, also across a crash. Not thread-safe; dispose it after use.
/// </summary>
public sealed class StoreWriteBatch : IDisposable
{
    private readonly EncryptedStore _store;
    private WriteBatch? _batch = new();

    internal StoreWriteBatch(EncryptedStore store) => _store = store;

    /// <summary>Number of operations added so far.</summary>
    public int Count { get; private set; }

    /// <summary>Key and value bytes added so far (the store's bytes-written metric).</summary>
    internal long PayloadBytes { get; private set; }

    internal WriteBatch Batch => _batch ?? throw new ObjectDisposedException(nameof(StoreWriteBatch));

    /// <summary>Adds a put of <paramref name="key"/> in <paramref name="ns"/>.</summary>
    /// <exception cref="ArgumentException">The namespace belongs to another store, or the key/value exceeds the limits.</exception>
    public StoreWriteBatch Put(StoreNamespace ns, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckNamespace(ns);
        ns.CheckEntry(key, value);
        // The column family handle exists only inside the gate; the batch records its id,
        // which stays valid across a lock and unlock.
        _store.Run(new BatchArgs(Batch, ns, key, value), static (s, a) =>
        {
            a.Batch.Put(a.Key, a.Value, a.Ns.HandleIn(s));
            return true;
        });
        PayloadBytes += key.Length + value.Length;
        Count++;
        return this;
    }

    /// <summary>Adds a put of UTF-8 strings.</summary>
    public StoreWriteBatch Put(StoreNamespace ns, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return Put(ns, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Adds a delete of <paramref name="key"/> in <paramref name="ns"/>.</summary>
    /// <exception cref="ArgumentException">The namespace belongs to another store, or the key exceeds the limit.</exception>
    public StoreWriteBatch Delete(StoreNamespace ns, ReadOnlySpan<byte> key)
    {
        CheckNamespace(ns);
        ns.CheckEntry(key, []);
        _store.Run(new BatchArgs(Batch, ns, key, default), static (s, a) =>
        {
            a.Batch.Delete(a.Key, a.Ns.HandleIn(s));
            return true;
        });
        PayloadBytes += key.Length;
        Count++;
        return this;
    }

    /// <summary>Adds a delete of a UTF-8 string key.</summary>
    public StoreWriteBatch Delete(StoreNamespace ns, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Delete(ns, Encoding.UTF8.GetBytes(key));
    }

    private void CheckNamespace(StoreNamespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (!_store.Owns(ns))
        {
            throw new ArgumentException($"Namespace '{ns.Name}' belongs to another store.", nameof(ns));
        }
    }

    /// <summary>One batch operation, handed to a static lambda inside the gate (no closure per call).</summary>
    private readonly ref struct BatchArgs(WriteBatch batch, StoreNamespace ns, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        public readonly WriteBatch Batch = batch;
        public readonly StoreNamespace Ns = ns;
        public readonly ReadOnlySpan<byte> Key = key;
        public readonly ReadOnlySpan<byte> Value = value;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _batch?.Dispose();
        _batch = null;
    }
}
