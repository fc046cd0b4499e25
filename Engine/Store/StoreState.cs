namespace Engine;

/// <summary>
/// Where a store is in its lock state machine: <c>Open → Degraded → Locked → (key restored) → Open</c>,
/// plus <c>Closed</c> once disposed.
/// </summary>
public enum StoreState
{
    /// <summary>Serving; the last CMEK check succeeded within the check interval.</summary>
    Open = 0,

    /// <summary>
    /// Serving from cached keys while the CMEK cannot be reached (timeouts, throttling, 5xx). Locks
    /// when the cached root key reaches <see cref="StoreOptions.KeyCacheTtl"/> without a successful check.
    /// </summary>
    Degraded = 1,

    /// <summary>
    /// Not serving: the CMEK was revoked (or unreachable for longer than the key cache TTL). RocksDB
    /// is closed, caches are dropped and every key is zeroed; calls throw <see cref="StoreLockedException"/>.
    /// </summary>
    Locked = 2,

    /// <summary>Disposed.</summary>
    Closed = 3,
}

/// <summary>A transition of <see cref="EncryptedStore.State"/>.</summary>
/// <param name="OldState">State before the transition.</param>
/// <param name="NewState">State after the transition.</param>
/// <param name="Reason">Why, in words an operator can act on (names the CMEK error when there is one).</param>
/// <param name="Time">When the transition happened.</param>
public sealed record StoreStateChange(StoreState OldState, StoreState NewState, string Reason, DateTimeOffset Time);
