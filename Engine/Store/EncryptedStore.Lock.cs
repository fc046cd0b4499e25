using Engine.Crypto;
using Engine.Locking;

namespace Engine;

/// <summary>The lock state machine, as the store shows it: every member delegates to its <see cref="CmekMonitor"/>.</summary>
public sealed partial class EncryptedStore : ILockableStore
{
    private readonly CmekMonitor _monitor;

    /// <summary>Where the store is in its lock state machine.</summary>
    public StoreState State => _monitor.State;

    /// <summary>Why the store locked, while it is <see cref="StoreState.Locked"/>; otherwise null.</summary>
    public string? LockReason => _monitor.LockReason;

    /// <summary>Raised after every state transition, on the thread that made it (usually the store's CMEK monitor thread).</summary>
    public event EventHandler<StoreStateChange>? StateChanged
    {
        add => _monitor.StateChanged += value;
        remove => _monitor.StateChanged -= value;
    }

    /// <summary>Number of CMEK health checks made since open (one per check interval in steady state).</summary>
    public long CmekCheckCount => _monitor.CheckCount;

    /// <summary>
    /// Reopens a <see cref="StoreState.Locked"/> store after the CMEK is available again: unwraps the
    /// root key, reopens RocksDB and serves the same data. Does nothing when the store is not locked.
    /// With <see cref="StoreOptions.AutoUnlock"/> (the default) the background check does this itself.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK is still unavailable; the store stays locked.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public void Unlock() => _monitor.Unlock("unlocked on request");

    /// <summary>Runs one CMEK check now, as the background schedule would, and completes once it has acted (tests and operators).</summary>
    internal Task CheckCmekNowAsync(CancellationToken ct = default) => _monitor.CheckNowAsync(ct);

    /// <summary>Locks the store now with <paramref name="reason"/> (tests; the monitor calls it on revocation).</summary>
    internal void Lock(string reason) => _monitor.Lock(reason);

    /// <summary>When the last successful CMEK check (or the open, or an unlock) happened; the key cache TTL counts from here.</summary>
    internal DateTimeOffset LastHealthyCmekCheck => _monitor.LastHealthyCheck;

    void ILockableStore.CloseForLock(Func<Exception> error)
    {
        _gate.CloseAndDrain(error);
        CloseSession(storeClosing: false);
    }

    void ILockableStore.ReopenAfterUnlock(KeyRegistry registry)
    {
        _session = StoreSession.Open(_layout, _options, registry);
        _gate.Reopen(); // an interlocked operation: calls admitted from here see the new session
    }
}
