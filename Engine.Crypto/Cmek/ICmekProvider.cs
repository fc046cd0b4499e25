namespace Engine.Crypto;

/// <summary>
/// A customer-managed key (CMEK): the key at the top of the hierarchy, kept outside the store
/// (a local key file, or a key in a KMS). The engine only ever asks it to wrap and unwrap the
/// store's root KEK, once when a store is created or opened (and on periodic re-checks), never
/// per file or per operation.
/// </summary>
/// <remarks>
/// Implementations must be thread-safe and must not log or retain the keys they are given.
/// Providers that can check their key without unwrapping anything also implement
/// <see cref="ICmekHealthCheck"/> (the store's periodic revocation check). Failures are
/// <see cref="KeyUnavailableException"/>s whose <see cref="KeyUnavailableException.FailureKind"/>
/// tells a revoked key from a transient failure.
/// </remarks>
public interface ICmekProvider : IDisposable
{
    /// <summary>
    /// Where the key lives, e.g. <c>file:/abs/path/key</c>. Stored in plaintext in the store's
    /// key registry so the store can be reopened with <see cref="CmekProviders.Open(string)"/>.
    /// Never contains key material.
    /// </summary>
    string Uri { get; }

    /// <summary>
    /// Encrypts and authenticates <paramref name="key"/> under the CMEK, bound to
    /// <paramref name="context"/> (the engine passes the store id).
    /// </summary>
    /// <param name="key">The key to wrap; not retained.</param>
    /// <param name="context">Associated data that must be presented again to unwrap.</param>
    /// <param name="ct">Cancels a remote call.</param>
    /// <returns>The wrapped key, opaque to the engine and not secret.</returns>
    /// <exception cref="KeyUnavailableException">The CMEK is unavailable (missing, revoked).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default);

    /// <summary>Recovers a key wrapped by <see cref="WrapKeyAsync"/> with the same context.</summary>
    /// <param name="wrapped">Output of <see cref="WrapKeyAsync"/>.</param>
    /// <param name="context">The context given to <see cref="WrapKeyAsync"/>.</param>
    /// <param name="ct">Cancels a remote call.</param>
    /// <returns>
    /// The key. The caller owns the array and must zero it
    /// (<see cref="System.Security.Cryptography.CryptographicOperations.ZeroMemory"/>) when done.
    /// </returns>
    /// <exception cref="KeyUnavailableException">
    /// The CMEK does not unwrap this blob (wrong key, wrong context, damaged blob) or is
    /// unavailable (missing, revoked).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default);
}
