namespace Engine.Testing;

/// <summary>Test helpers on <see cref="EncryptedStore"/>: drive its lock state machine without waiting for timers.</summary>
public static class StoreTestExtensions
{
    /// <summary>
    /// Runs one CMEK health check now, exactly as the background check does every
    /// <see cref="StoreOptions.CmekCheckInterval"/>, and returns the state it left the store in:
    /// a revoked key locks the store, a transient failure degrades it, an available key brings a degraded
    /// store back to <see cref="StoreState.Open"/> and (with <see cref="StoreOptions.AutoUnlock"/>) unlocks
    /// a locked one.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="ct">Cancels the check.</param>
    /// <returns>The store's state after the check.</returns>
    public static async Task<StoreState> RunCmekCheckAsync(this EncryptedStore store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await store.CheckCmekNowAsync(ct).ConfigureAwait(false);
        return store.State;
    }

    /// <summary>Synchronous <see cref="RunCmekCheckAsync"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The store's state after the check.</returns>
    public static StoreState RunCmekCheck(this EncryptedStore store) => store.RunCmekCheckAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Waits until <see cref="EncryptedStore.State"/> is <paramref name="state"/> (for tests that let the
    /// background check run with a short <see cref="StoreOptions.CmekCheckInterval"/>).
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="state">The state to wait for.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <returns>True when the store reached the state in time.</returns>
    public static bool WaitForState(this EncryptedStore store, StoreState state, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var reached = new ManualResetEventSlim(false);
        void OnChange(object? sender, StoreStateChange change)
        {
            if (change.NewState == state)
            {
                reached.Set();
            }
        }
        store.StateChanged += OnChange;
        try
        {
            return store.State == state || reached.Wait(timeout);
        }
        finally
        {
            store.StateChanged -= OnChange;
        }
    }
}
