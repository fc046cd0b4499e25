namespace Engine.Crypto;

/// <summary>
/// The one place where a synchronous public entry point (<c>EncryptedStore.Open</c>, the sync
/// rotation verbs, the sync registry opens of tools and tests) waits for an asynchronous CMEK path.
/// Everything below it is async end to end; nothing else in the engine blocks on a task.
/// </summary>
/// <remarks>
/// The operation starts on the thread pool, so a caller's <see cref="SynchronizationContext"/> (a UI
/// thread, a legacy ASP.NET request) is never captured by its continuations and cannot deadlock the
/// wait. The cost is one blocked caller thread per call, which these entry points accept: they are
/// rare (open, unlock, rotation) and every CMEK call is bounded by the provider's own timeout.
/// Exceptions surface unwrapped (not as <see cref="AggregateException"/>).
/// </remarks>
internal static class BlockingBridge
{
    /// <summary>Runs <paramref name="operation"/> on the thread pool and blocks until it completes.</summary>
    /// <returns>The operation's result.</returns>
    /// <exception cref="Exception">Whatever the operation throws, unwrapped.</exception>
    public static T Wait<T>(Func<CancellationToken, Task<T>> operation, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return Task.Run(() => operation(ct), ct).GetAwaiter().GetResult();
    }

    /// <summary>As <see cref="Wait{T}"/> for an operation without a result.</summary>
    /// <exception cref="Exception">Whatever the operation throws, unwrapped.</exception>
    public static void Wait(Func<CancellationToken, Task> operation, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Task.Run(() => operation(ct), ct).GetAwaiter().GetResult();
    }
}
