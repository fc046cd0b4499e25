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

    internal WriteBatch Batch => _batch ?? throw new ObjectDisposedException(nameof(StoreWriteBatch));

    /// <summary>Adds a put of <paramref name="key"/> in <paramref name="ns"/>.</summary>
    /// <exception cref="ArgumentException">The namespace belongs to another store, or the key/value exceeds the limits.</exception>
    public StoreWriteBatch Put(StoreNamespace ns, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckNamespace(ns);
        ns.CheckEntry(key, value);
        WriteBatch batch = Batch;
        unsafe
        {
            // The column family handle exists only inside the gate; the batch records its id,
            // which stays valid across a lock and unlock.
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                byte* kp = k;
                byte* vp = v;
                int kl = key.Length;
                int vl = value.Length;
                _store.Run(s => batch.Put(new ReadOnlySpan<byte>(kp, kl), new ReadOnlySpan<byte>(vp, vl), ns.HandleIn(s)));
            }
        }
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
        WriteBatch batch = Batch;
        unsafe
        {
            fixed (byte* k = key)
            {
                byte* kp = k;
                int kl = key.Length;
                _store.Run(s => batch.Delete(new ReadOnlySpan<byte>(kp, kl), ns.HandleIn(s)));
            }
        }
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

    /// <inheritdoc />
    public void Dispose()
    {
        _batch?.Dispose();
        _batch = null;
    }
}
