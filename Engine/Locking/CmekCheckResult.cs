using Engine.Crypto;

namespace Engine.Locking;

/// <summary>
/// What one CMEK check found, in the terms the lock state machine acts on. Kept apart from
/// <see cref="CmekFailureKind"/>, which classifies errors: a healthy key is not a kind of failure.
/// </summary>
internal enum CmekCheckOutcome
{
    /// <summary>The key is usable: the check answered in time and without error.</summary>
    Healthy,

    /// <summary>
    /// No answer that can be trusted either way (timeout, throttling, a 5xx, an unreachable service,
    /// a check still hanging): degrade, retry, lock only when the key cache TTL runs out.
    /// </summary>
    Transient,

    /// <summary>The key service refused the key (disabled, deleted, access denied, replaced key file): lock now.</summary>
    Revoked,
}

/// <summary>The answer of one check.</summary>
/// <param name="Outcome">What the monitor acts on.</param>
/// <param name="Reason">Why, for the state change and the lock reason; null when healthy. Names the
/// CMEK error, never key material.</param>
/// <param name="Unlock">When the check ran on a locked store that unlocks itself: the registry it
/// unwrapped (proof the key works, and what the reopen needs) and the provider that unwrapped it.
/// Whoever ends up holding it disposes it.</param>
internal readonly record struct CmekCheckResult(CmekCheckOutcome Outcome, string? Reason, UnlockMaterial? Unlock = null)
{
    public static CmekCheckResult Healthy(UnlockMaterial? unlock = null) => new(CmekCheckOutcome.Healthy, null, unlock);

    public static CmekCheckResult Transient(string reason) => new(CmekCheckOutcome.Transient, reason);

    public static CmekCheckResult Revoked(string reason) => new(CmekCheckOutcome.Revoked, reason);
}

/// <summary>
/// What reopening a locked store needs from the CMEK: the unwrapped key registry, and the provider
/// that unwrapped it (a fresh one when the store owns its provider: the old one was dropped at the lock).
/// </summary>
internal sealed class UnlockMaterial(KeyRegistry registry, ICmekProvider provider, bool ownsProvider) : IDisposable
{
    /// <summary>The store's key registry, unwrapped with <see cref="Provider"/>.</summary>
    public KeyRegistry Registry { get; } = registry;

    /// <summary>The provider the store keeps using after the unlock.</summary>
    public ICmekProvider Provider { get; } = provider;

    /// <summary>The store opened <see cref="Provider"/> and disposes it.</summary>
    public bool OwnsProvider { get; } = ownsProvider;

    /// <summary>
    /// Opens a provider when the store owns its provider (<paramref name="provider"/> null: the old one
    /// was dropped at the lock) and unwraps the store's registry with it. Blocks as long as the CMEK
    /// does: call it without holding the monitor's lock.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK is still unavailable.</exception>
    /// <exception cref="IntegrityException">The registry failed authentication.</exception>
    public static UnlockMaterial Open(ICmekProvider? provider, string cmekUri, string storeRoot)
    {
        ICmekProvider cmek = provider ?? CmekProviders.Open(cmekUri);
        try
        {
            return new UnlockMaterial(BlockingBridge.Wait(ct => KeyRegistry.OpenAsync(storeRoot, cmek, ct)), cmek, ownsProvider: provider is null);
        }
        catch
        {
            if (provider is null)
            {
                cmek.Dispose();
            }
            throw;
        }
    }

    /// <summary>Drops the registry (zeroing its keys) and an owned provider: the unlock did not happen.</summary>
    public void Dispose()
    {
        Registry.Dispose();
        if (OwnsProvider)
        {
            Provider.Dispose();
        }
    }
}
