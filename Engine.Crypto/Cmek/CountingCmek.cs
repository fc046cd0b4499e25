namespace Engine.Crypto;

/// <summary>
/// Wraps a CMEK provider and counts the requests that reach it, so that tests and benchmarks can
/// check that CMEK (KMS) traffic stays O(1) per key-cache period however much the store works.
/// </summary>
/// <remarks>
/// Counts calls, successful or not. Forwards <see cref="ICmekHealthCheck.CheckAsync"/> when the
/// inner provider supports it. Thread-safe. Disposing it disposes the inner provider only when
/// <c>ownsInner</c> was true.
/// </remarks>
public sealed class CountingCmek : ICmekProvider, ICmekHealthCheck
{
    private readonly ICmekProvider _inner;
    private readonly bool _ownsInner;
    private long _wraps;
    private long _unwraps;
    private long _checks;

    /// <summary>Counts the calls made to <paramref name="inner"/>.</summary>
    /// <param name="inner">The provider to count.</param>
    /// <param name="ownsInner">Whether <see cref="Dispose"/> disposes <paramref name="inner"/>.</param>
    public CountingCmek(ICmekProvider inner, bool ownsInner = true)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _ownsInner = ownsInner;
    }

    /// <inheritdoc/>
    public string Uri => _inner.Uri;

    /// <summary>All calls: wraps, unwraps and checks.</summary>
    public long Calls => WrapCalls + UnwrapCalls + CheckCalls;

    /// <summary>Calls to <see cref="WrapKeyAsync"/>.</summary>
    public long WrapCalls => Interlocked.Read(ref _wraps);

    /// <summary>Calls to <see cref="UnwrapKeyAsync"/>.</summary>
    public long UnwrapCalls => Interlocked.Read(ref _unwraps);

    /// <summary>Calls to <see cref="CheckAsync"/>.</summary>
    public long CheckCalls => Interlocked.Read(ref _checks);

    /// <inheritdoc/>
    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _wraps);
        return _inner.WrapKeyAsync(key, context, ct);
    }

    /// <inheritdoc/>
    public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _unwraps);
        return _inner.UnwrapKeyAsync(wrapped, context, ct);
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The inner provider has no health check.</exception>
    public Task CheckAsync(CancellationToken ct = default)
    {
        Interlocked.Increment(ref _checks);
        return _inner is ICmekHealthCheck check
            ? check.CheckAsync(ct)
            : throw new NotSupportedException($"{_inner} has no health check");
    }

    /// <summary>Disposes the inner provider if this decorator owns it.</summary>
    public void Dispose()
    {
        if (_ownsInner)
        {
            _inner.Dispose();
        }
    }

    /// <summary>Names the inner provider and the counts.</summary>
    public override string ToString() => $"CountingCmek({_inner}, wraps={WrapCalls}, unwraps={UnwrapCalls}, checks={CheckCalls})";
}
