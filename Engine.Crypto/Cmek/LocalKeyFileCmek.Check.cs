using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>The health check of a key file: still there, still private, still the same key.</summary>
public sealed partial class LocalKeyFileCmek
{
    /// <summary>
    /// Re-reads the key file and verifies that it is still present, still readable by its owner
    /// only, and still holds the key this provider was opened with (compared in constant time;
    /// the bytes never leave this method).
    /// </summary>
    /// <param name="ct">Cancels the check before it starts.</param>
    /// <returns>A completed task when the key file is unchanged.</returns>
    /// <exception cref="KeyUnavailableException">The file is gone, unreadable, has unsafe
    /// permissions, or holds a different key; <see cref="KeyUnavailableException.FailureKind"/> is
    /// <see cref="CmekFailureKind.Revoked"/> (the operator must restore the file).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    public Task CheckAsync(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_key.IsDisposed, this);
        LocalKeyFileCmek fresh;
        try
        {
            fresh = Open(Path);
        }
        catch (KeyUnavailableException e)
        {
            throw new KeyUnavailableException(e.Message, CmekFailureKind.Revoked, "KeyFileUnavailable", e);
        }

        using (fresh)
        {
            bool same;
            bool leasedOld = _key.TryLease(out KeyLease held);
            ObjectDisposedException.ThrowIf(!leasedOld, this);
            using (held)
            {
                bool leasedNew = fresh._key.TryLease(out KeyLease current);
                if (!leasedNew)
                {
                    throw new InvalidOperationException("a freshly opened key file provider has no key");
                }

                using (current)
                {
                    same = CryptographicOperations.FixedTimeEquals(held.Key, current.Key);
                }
            }

            if (!same)
            {
                throw new KeyUnavailableException(
                    $"the CMEK key file {Path} now holds a different key than when the store was opened (was it replaced?)",
                    CmekFailureKind.Revoked,
                    "KeyFileChanged");
            }
        }

        return Task.CompletedTask;
    }
}
