namespace Engine.Crypto;

/// <summary>
/// A CMEK provider that can tell, without unwrapping anything, whether its key is still usable.
/// The store's background check calls it every check interval to notice a revoked key (and lock)
/// or a key service that stopped answering (and degrade), without asking for key material.
/// </summary>
public interface ICmekHealthCheck
{
    /// <summary>
    /// Verifies that the key exists, is enabled and is the same key as when the provider was
    /// opened. One cheap request to the key service at most; never unwraps anything.
    /// </summary>
    /// <param name="ct">Cancels the check.</param>
    /// <returns>A task that completes when the key is known to be usable.</returns>
    /// <exception cref="KeyUnavailableException">The key is not usable;
    /// <see cref="KeyUnavailableException.FailureKind"/> tells a revoked key
    /// (<see cref="CmekFailureKind.Revoked"/>) from a failure to reach the key service
    /// (<see cref="CmekFailureKind.Transient"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    Task CheckAsync(CancellationToken ct = default);
}
