using Engine.Crypto;

namespace Engine.Locking;

/// <summary>
/// What the <see cref="CmekMonitor"/> locks and unlocks: the store's data plane (its gate and its
/// session). The monitor calls these with its own lock held, one at a time.
/// </summary>
internal interface ILockableStore
{
    /// <summary>
    /// Refuses new calls with <paramref name="error"/>, waits for the calls in flight to leave, then
    /// closes RocksDB, zeroes the session's keys and shreds this boot's temp files.
    /// </summary>
    void CloseForLock(Func<Exception> error);

    /// <summary>
    /// Opens RocksDB again with <paramref name="registry"/> (owned by the store from here on, disposed
    /// if the open fails) and admits calls again.
    /// </summary>
    /// <exception cref="EngineException">RocksDB did not open; the store stays closed.</exception>
    void ReopenAfterUnlock(KeyRegistry registry);
}
