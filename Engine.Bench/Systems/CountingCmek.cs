using Engine.Crypto;

namespace Engine.Bench.Systems;

/// <summary>
/// Delegates to a local key file CMEK and counts every call: the bench's stand-in for a KMS bill.
/// The engine must ask the CMEK at open (and on its periodic re-check), never per operation.
/// </summary>
internal sealed class CountingCmek(ICmekProvider inner) : ICmekProvider
{
    private long _wraps;
    private long _unwraps;

    public string Uri => inner.Uri;

    public long Calls => Interlocked.Read(ref _wraps) + Interlocked.Read(ref _unwraps);

    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _wraps);
        return inner.WrapKeyAsync(key, context, ct);
    }

    public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _unwraps);
        return inner.UnwrapKeyAsync(wrapped, context, ct);
    }

    public void Dispose() => inner.Dispose();
}
