using Engine.Crypto;

namespace Engine.Tests.Support;

/// <summary>A CMEK whose availability a test flips: a real key file behind a switch.</summary>
internal sealed class SwitchableCmek(ICmekProvider inner) : ICmekProvider, ICmekHealthCheck
{
    public enum Mode { Available, Revoked, Transient, Hang }

    public volatile Mode Current = Mode.Available;

    public string Uri => inner.Uri;

    private void ThrowIfUnavailable()
    {
        switch (Current)
        {
            case Mode.Revoked:
                throw new KeyUnavailableException("test CMEK revoked (DisabledException)", CmekFailureKind.Revoked, "DisabledException");
            case Mode.Transient:
                throw new KeyUnavailableException("test CMEK unreachable (503)", CmekFailureKind.Transient, "ServiceUnavailable");
            default:
                break;
        }
    }

    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfUnavailable();
        return inner.WrapKeyAsync(key, context, ct);
    }

    public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfUnavailable();
        return inner.UnwrapKeyAsync(wrapped, context, ct);
    }

    public Task CheckAsync(CancellationToken ct = default)
    {
        if (Current == Mode.Hang)
        {
            return Task.Delay(Timeout.Infinite, ct); // a key service that never answers
        }
        ThrowIfUnavailable();
        return inner is ICmekHealthCheck h ? h.CheckAsync(ct) : Task.CompletedTask;
    }

    public void Dispose() => inner.Dispose();
}
