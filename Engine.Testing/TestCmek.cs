using System.Globalization;
using System.Security.Cryptography;
using Engine.Crypto;

namespace Engine.Testing;

/// <summary>What a <see cref="TestCmek"/> answers right now.</summary>
public enum TestCmekAvailability
{
    /// <summary>Wraps, unwraps and passes health checks.</summary>
    Available = 0,

    /// <summary>
    /// Every call fails with <see cref="KeyUnavailableException"/> whose
    /// <see cref="KeyUnavailableException.FailureKind"/> is <see cref="CmekFailureKind.Revoked"/>
    /// (a disabled or deleted KMS key, access denied): a store locks at its next CMEK check.
    /// </summary>
    Revoked = 1,

    /// <summary>
    /// Every call fails with <see cref="CmekFailureKind.Transient"/> (throttling, a 5xx answer): a
    /// store degrades at its next check, keeps serving from cached keys, and locks only when no check
    /// has succeeded for <see cref="StoreOptions.KeyCacheTtl"/>.
    /// </summary>
    Transient = 2,

    /// <summary>
    /// Every call waits, without answering, until the caller's cancellation token fires (then it fails
    /// with <see cref="OperationCanceledException"/>): a key service that accepts the connection and never
    /// answers. A store degrades after one check interval and locks when <see cref="StoreOptions.KeyCacheTtl"/>
    /// runs out, without waiting for the hanging check.
    /// </summary>
    Hanging = 3,
}

/// <summary>
/// A customer-managed key for tests whose availability the test flips: <see cref="Revoke"/>,
/// <see cref="MakeTransient"/>, <see cref="Restore"/>, <see cref="AddLatency"/>. By default it holds a
/// random 256-bit key in memory (never on disk) and wraps with AES-256-GCM bound to the context, like a
/// real provider, so a store created under one <see cref="TestCmek"/> does not open under another; or
/// it puts the switch in front of a real provider (<see cref="TestCmek(ICmekProvider, bool)"/>), for a
/// store that another process must open too. Counts every call, so a test can assert how often the
/// engine asks its KMS. Thread-safe.
/// </summary>
/// <remarks>
/// A store notices a revocation at its next CMEK check (every <see cref="StoreOptions.CmekCheckInterval"/>);
/// to make that happen now, call <see cref="StoreTestExtensions.RunCmekCheck(EncryptedStore)"/>.
/// Calls fail with the same exception types and failure kinds the real providers use, so the store
/// reacts exactly as it would to AWS KMS or a key file.
/// </remarks>
public sealed class TestCmek : ICmekProvider, ICmekHealthCheck
{
    private const byte WrapVersion = 0x7E;
    private const int NonceSize = Aead.NonceSize;
    private const int TagSize = Aead.TagSize;
    private static readonly byte[] s_aadPrefix = "EKV-TEST-CMEK1"u8.ToArray();

    private readonly Lock _sync = new();
    private readonly byte[] _key = GC.AllocateArray<byte>(32, pinned: true);
    private readonly ICmekProvider? _inner;
    private readonly bool _ownsInner;
    private TestCmekAvailability _availability;
    private string _errorCode = string.Empty;
    private TimeSpan _latency;
    private bool _disposed;
    private long _wraps;
    private long _unwraps;
    private long _checks;
    private long _failures;

    /// <summary>Creates a CMEK with a fresh random key.</summary>
    /// <param name="name">Shows in <see cref="Uri"/> and in error messages; a random one when null.</param>
    public TestCmek(string? name = null)
    {
        RandomNumberGenerator.Fill(_key);
        Name = name ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        Uri = "test-cmek:" + Name;
    }

    /// <summary>
    /// Puts the availability switch, latency and counters in front of a real provider (for example a
    /// <see cref="LocalKeyFileCmek"/>): wrapping, unwrapping and health checks go to
    /// <paramref name="inner"/> while <see cref="Availability"/> is <see cref="TestCmekAvailability.Available"/>.
    /// <see cref="Uri"/> is the inner provider's, so the store records it and can be reopened from it
    /// (by another process, say) without this object.
    /// </summary>
    /// <param name="inner">The real provider.</param>
    /// <param name="ownsInner">Dispose <paramref name="inner"/> with this object.</param>
    public TestCmek(ICmekProvider inner, bool ownsInner = true)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _ownsInner = ownsInner;
        Name = inner.Uri;
        Uri = inner.Uri;
    }

    /// <summary>The name given at construction (or a random one; the inner provider's URI when wrapping one).</summary>
    public string Name { get; }

    /// <summary><c>test-cmek:NAME</c> (the inner provider's URI when wrapping one). The store records it;
    /// a <c>test-cmek:</c> URI cannot reopen a store alone: pass the provider in <see cref="StoreOptions.Cmek"/> again.</summary>
    public string Uri { get; }

    /// <summary>What the key answers right now.</summary>
    public TestCmekAvailability Availability
    {
        get
        {
            lock (_sync)
            {
                return _availability;
            }
        }
    }

    /// <summary>Delay added to every call (see <see cref="AddLatency"/>).</summary>
    public TimeSpan Latency
    {
        get
        {
            lock (_sync)
            {
                return _latency;
            }
        }
    }

    /// <summary>Number of <see cref="WrapKeyAsync"/> calls (including failed ones).</summary>
    public long WrapCount => Interlocked.Read(ref _wraps);

    /// <summary>Number of <see cref="UnwrapKeyAsync"/> calls (including failed ones): one per store open or unlock.</summary>
    public long UnwrapCount => Interlocked.Read(ref _unwraps);

    /// <summary>Number of <see cref="CheckAsync"/> calls: the store's periodic health checks.</summary>
    public long CheckCount => Interlocked.Read(ref _checks);

    /// <summary>Every call made: wraps, unwraps and checks (what a KMS would bill).</summary>
    public long CallCount => WrapCount + UnwrapCount + CheckCount;

    /// <summary>Number of calls that failed because the key was revoked, transient-failing or too slow.</summary>
    public long FailureCount => Interlocked.Read(ref _failures);

    /// <summary>
    /// Revokes the key: every call fails as revoked (<see cref="CmekFailureKind.Revoked"/>) until
    /// <see cref="Restore"/>. A store using it locks at its next CMEK check.
    /// </summary>
    /// <param name="errorCode">The KMS error name reported in <see cref="KeyUnavailableException.CmekErrorCode"/>.</param>
    public void Revoke(string errorCode = "DisabledException") => Set(TestCmekAvailability.Revoked, errorCode);

    /// <summary>
    /// Makes every call fail transiently (<see cref="CmekFailureKind.Transient"/>) until
    /// <see cref="Restore"/>. A store using it degrades at its next check and keeps serving.
    /// </summary>
    /// <param name="errorCode">The KMS error name reported in <see cref="KeyUnavailableException.CmekErrorCode"/>.</param>
    public void MakeTransient(string errorCode = "ServiceUnavailable") => Set(TestCmekAvailability.Transient, errorCode);

    /// <summary>
    /// Makes every call hang until its caller's cancellation token fires (<see cref="TestCmekAvailability.Hanging"/>),
    /// until <see cref="Restore"/>.
    /// </summary>
    public void Hang() => Set(TestCmekAvailability.Hanging, string.Empty);

    /// <summary>Makes the key available again (latency is kept; see <see cref="ClearLatency"/>).</summary>
    public void Restore() => Set(TestCmekAvailability.Available, string.Empty);

    /// <summary>
    /// Adds <paramref name="latency"/> to every later call (cumulative). A call that outlasts the
    /// caller's cancellation token fails with <see cref="OperationCanceledException"/>, which a store's
    /// health check (bounded by <see cref="StoreOptions.CmekCheckTimeout"/>) counts as a transient failure.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="latency"/> is negative.</exception>
    public void AddLatency(TimeSpan latency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        lock (_sync)
        {
            _latency += latency;
        }
    }

    /// <summary>Removes every latency added by <see cref="AddLatency"/>.</summary>
    public void ClearLatency()
    {
        lock (_sync)
        {
            _latency = TimeSpan.Zero;
        }
    }

    /// <summary>Sets every counter back to zero.</summary>
    public void ResetCounters()
    {
        Interlocked.Exchange(ref _wraps, 0);
        Interlocked.Exchange(ref _unwraps, 0);
        Interlocked.Exchange(ref _checks, 0);
        Interlocked.Exchange(ref _failures, 0);
    }

    /// <inheritdoc/>
    public async Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _wraps);
        await EnterAsync(ct).ConfigureAwait(false);
        if (_inner is not null)
        {
            return await _inner.WrapKeyAsync(key, context, ct).ConfigureAwait(false);
        }
        byte[] wrapped = new byte[1 + NonceSize + key.Length + TagSize];
        wrapped[0] = WrapVersion;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Aead.Seal(_key, wrapped.AsSpan(1, NonceSize), key.Span, wrapped.AsSpan(1 + NonceSize, key.Length), wrapped.AsSpan(1 + NonceSize + key.Length), Aad(context.Span));
        }
        return wrapped;
    }

    /// <inheritdoc/>
    public async Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _unwraps);
        await EnterAsync(ct).ConfigureAwait(false);
        if (_inner is not null)
        {
            return await _inner.UnwrapKeyAsync(wrapped, context, ct).ConfigureAwait(false);
        }
        if (wrapped.Length < 1 + NonceSize + TagSize || wrapped.Span[0] != WrapVersion)
        {
            throw new KeyUnavailableException($"the CMEK {Uri} cannot unwrap this blob: it was not wrapped by a test CMEK", CmekFailureKind.Revoked, "InvalidCiphertextException");
        }
        int length = wrapped.Length - 1 - NonceSize - TagSize;
        byte[] key = GC.AllocateArray<byte>(length, pinned: true);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                ReadOnlySpan<byte> w = wrapped.Span;
                Aead.Open(_key, w.Slice(1, NonceSize), w.Slice(1 + NonceSize, length), w[^TagSize..], key, Aad(context.Span));
            }
            catch (AuthenticationTagMismatchException e)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new KeyUnavailableException($"the CMEK {Uri} does not unwrap this key (another test CMEK, or another store's context)", CmekFailureKind.Revoked, "InvalidCiphertextException", e);
            }
        }
        return key;
    }

    /// <inheritdoc/>
    public async Task CheckAsync(CancellationToken ct = default)
    {
        Interlocked.Increment(ref _checks);
        await EnterAsync(ct).ConfigureAwait(false);
        if (_inner is ICmekHealthCheck health)
        {
            await health.CheckAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Zeroes the key (and disposes an owned inner provider); later calls throw <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            CryptographicOperations.ZeroMemory(_key);
        }
        if (_ownsInner)
        {
            _inner?.Dispose();
        }
    }

    /// <summary>Names the key; never shows it.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"TestCmek({Name}, {Availability})");

    private void Set(TestCmekAvailability availability, string errorCode)
    {
        ArgumentNullException.ThrowIfNull(errorCode);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _availability = availability;
            _errorCode = errorCode;
        }
    }

    /// <summary>Waits out the latency, then fails the call if the key is not available.</summary>
    private async Task EnterAsync(CancellationToken ct)
    {
        TimeSpan latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(latency, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _failures);
                throw;
            }
        }
        ct.ThrowIfCancellationRequested();
        TestCmekAvailability availability;
        string code;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            availability = _availability;
            code = _errorCode;
        }
        switch (availability)
        {
            case TestCmekAvailability.Revoked:
                Interlocked.Increment(ref _failures);
                throw new KeyUnavailableException($"the CMEK {Uri} is revoked ({code})", CmekFailureKind.Revoked, code);
            case TestCmekAvailability.Transient:
                Interlocked.Increment(ref _failures);
                throw new KeyUnavailableException($"the CMEK {Uri} is unreachable ({code})", CmekFailureKind.Transient, code);
            case TestCmekAvailability.Hanging:
                Interlocked.Increment(ref _failures);
                await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
                break;
            default:
                break;
        }
    }

    private static byte[] Aad(ReadOnlySpan<byte> context)
    {
        byte[] aad = new byte[s_aadPrefix.Length + context.Length];
        s_aadPrefix.CopyTo(aad, 0);
        context.CopyTo(aad.AsSpan(s_aadPrefix.Length));
        return aad;
    }
}
