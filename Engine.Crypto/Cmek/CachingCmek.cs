using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>
/// Wraps a CMEK provider and keeps each unwrapped key for at most <see cref="Ttl"/>, so that
/// reopening a store (after an unlock, or a tool that opens and closes it repeatedly) costs no KMS
/// request while the cache is fresh: KMS traffic is O(1) per TTL, never per open, file or
/// operation. After the TTL the inner provider is asked again, which is when a revoked key is
/// noticed by an unwrap.
/// </summary>
/// <remarks>
/// <para>Entries are keyed by a SHA-256 of the context and wrapped blob; the cached keys live in
/// pinned arrays zeroed on expiry, on <see cref="Invalidate"/> and on <see cref="Dispose"/>.
/// Concurrent misses for the same blob reach the inner provider once. Wraps and health checks are
/// never cached: a check must reach the key service to be worth anything.</para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class CachingCmek : ICmekProvider, ICmekHealthCheck
{
    /// <summary>The default bound on how long an unwrapped key is served without asking the CMEK.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(15);

    private readonly ICmekProvider _inner;
    private readonly bool _ownsInner;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _missLock = new(1, 1);
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _hits;
    private long _misses;
    private bool _disposed;

    /// <summary>Caches the keys that <paramref name="inner"/> unwraps.</summary>
    /// <param name="inner">The provider to ask on a miss.</param>
    /// <param name="ttl">How long an unwrapped key is served; default <see cref="DefaultTtl"/>.
    /// <see cref="TimeSpan.Zero"/> disables caching.</param>
    /// <param name="time">The clock (tests pass a fake one); default the system clock.</param>
    /// <param name="ownsInner">Whether <see cref="Dispose"/> disposes <paramref name="inner"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ttl"/> is negative.</exception>
    public CachingCmek(ICmekProvider inner, TimeSpan? ttl = null, TimeProvider? time = null, bool ownsInner = true)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Ttl = ttl ?? DefaultTtl;
        ArgumentOutOfRangeException.ThrowIfLessThan(Ttl, TimeSpan.Zero, nameof(ttl));
        _inner = inner;
        _ownsInner = ownsInner;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string Uri => _inner.Uri;

    /// <summary>How long an unwrapped key is served from the cache.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Unwraps served from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Unwraps that asked the inner provider.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <inheritdoc/>
    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        return _inner.WrapKeyAsync(key, context, ct);
    }

    /// <inheritdoc/>
    public async Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        string id = EntryId(wrapped.Span, context.Span);
        if (TryCopyFresh(id) is byte[] hit)
        {
            return hit;
        }

        await _missLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (TryCopyFresh(id) is byte[] raced)
            {
                return raced;
            }

            Interlocked.Increment(ref _misses);
            byte[] key = await _inner.UnwrapKeyAsync(wrapped, context, ct).ConfigureAwait(false);
            if (Ttl > TimeSpan.Zero)
            {
                byte[] cached = GC.AllocateArray<byte>(key.Length, pinned: true);
                key.CopyTo(cached, 0);
                lock (_entries)
                {
                    ThrowIfDisposed();
                    if (_entries.Remove(id, out Entry? old))
                    {
                        CryptographicOperations.ZeroMemory(old.Key);
                    }

                    _entries[id] = new Entry(cached, _time.GetUtcNow() + Ttl);
                }
            }

            return key;
        }
        finally
        {
            _missLock.Release();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">The inner provider has no health check.</exception>
    public Task CheckAsync(CancellationToken ct = default)
    {
        ThrowIfDisposed();
        return _inner is ICmekHealthCheck check
            ? check.CheckAsync(ct)
            : throw new NotSupportedException($"{_inner} has no health check");
    }

    /// <summary>Zeroes and forgets every cached key (for example when the store locks), so the
    /// next unwrap asks the inner provider.</summary>
    public void Invalidate()
    {
        lock (_entries)
        {
            foreach (Entry entry in _entries.Values)
            {
                CryptographicOperations.ZeroMemory(entry.Key);
            }

            _entries.Clear();
        }
    }

    /// <summary>Zeroes the cache and disposes the inner provider if owned. Idempotent.</summary>
    public void Dispose()
    {
        lock (_entries)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Invalidate();
        if (_ownsInner)
        {
            _inner.Dispose();
        }
    }

    /// <summary>Names the inner provider and the TTL; never cached keys.</summary>
    public override string ToString() => $"CachingCmek({_inner}, ttl={Ttl})";

    private static string EntryId(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> context)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, context.Length);
        hash.AppendData(length);
        hash.AppendData(context);
        hash.AppendData(wrapped);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private byte[]? TryCopyFresh(string id)
    {
        lock (_entries)
        {
            ThrowIfDisposed();
            if (!_entries.TryGetValue(id, out Entry? entry))
            {
                return null;
            }

            if (_time.GetUtcNow() >= entry.Expires)
            {
                CryptographicOperations.ZeroMemory(entry.Key);
                _entries.Remove(id);
                return null;
            }

            byte[] copy = GC.AllocateArray<byte>(entry.Key.Length, pinned: true);
            entry.Key.CopyTo(copy, 0);
            Interlocked.Increment(ref _hits);
            return copy;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private sealed class Entry(byte[] key, DateTimeOffset expires)
    {
        public byte[] Key { get; } = key;

        public DateTimeOffset Expires { get; } = expires;
    }
}
