using System.Globalization;

namespace Engine;

/// <summary>
/// The store has locked itself (typically because the CMEK was revoked or could not be checked
/// for longer than the key cache TTL) and refuses every call until the key is available again.
/// Nothing acknowledged before the lock is lost.
/// </summary>
public sealed class StoreLockedException : EngineException
{
    /// <summary>Creates a store-locked error.</summary>
    /// <param name="reason">Why the store locked, e.g. "CMEK access denied".</param>
    /// <param name="lockedAt">When the store locked.</param>
    public StoreLockedException(string reason, DateTimeOffset lockedAt)
        : base(string.Create(CultureInfo.InvariantCulture, $"the store is locked since {lockedAt:O}: {reason}"))
    {
        Reason = reason;
        LockedAt = lockedAt;
    }

    /// <summary>Creates a store-locked error with an unknown reason, locked now.</summary>
    public StoreLockedException()
        : this("unknown reason", DateTimeOffset.UtcNow)
    {
    }

    /// <summary>Why the store locked.</summary>
    public string Reason { get; }

    /// <summary>When the store locked.</summary>
    public DateTimeOffset LockedAt { get; }
}
