namespace Engine;

/// <summary>
/// A native object that lives inside one session (an iterator, a snapshot): the store releases it when
/// it locks or closes, before the database goes away, so nothing the caller forgot can outlive RocksDB.
/// </summary>
internal interface ISessionResource
{
    /// <summary>Frees the native object; called with the gate closed and drained. Idempotent.</summary>
    /// <param name="storeClosing">True when the store closes (its use then throws ObjectDisposedException), false on a lock.</param>
    void Release(bool storeClosing);
}
