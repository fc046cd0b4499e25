using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>
/// An opaque handle to 256 bits of key material held in a pinned array that is zeroed when the
/// handle is disposed. There is deliberately no byte getter: crypto code in this assembly reads
/// the key through a <see cref="KeyLease"/>, which keeps the bytes alive (not zeroed) while it
/// is held, so <see cref="Dispose"/> racing with a reader on another thread is safe: the bytes
/// are zeroed when the last lease is released.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> describes which key this is, never its bytes.
/// </remarks>
internal abstract class SecretKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _bytes;

    // 1 for the owner reference plus 1 per outstanding lease; 0 once the bytes are zeroed.
    private int _refs = 1;
    private int _disposed;

    /// <summary>Takes ownership of fresh random key material.</summary>
    protected SecretKey()
    {
        _bytes = GC.AllocateArray<byte>(Size, pinned: true);
        RandomNumberGenerator.Fill(_bytes);
    }

    /// <summary>Copies <paramref name="material"/>; the caller zeroes its own copy.</summary>
    protected SecretKey(ReadOnlySpan<byte> material)
    {
        if (material.Length != Size)
        {
            throw new ArgumentException($"key material must be {Size} bytes, got {material.Length}", nameof(material));
        }

        _bytes = GC.AllocateArray<byte>(Size, pinned: true);
        material.CopyTo(_bytes);
    }

    /// <summary>Safety net for a handle that was never disposed: no lease can exist any more.</summary>
    ~SecretKey() => CryptographicOperations.ZeroMemory(_bytes);

    /// <summary>True once <see cref="Dispose"/> has been called (leases may still be draining).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>True when the key bytes are all zero (after dispose and the last lease). For tests.</summary>
    internal bool IsZeroed
    {
        get
        {
            // Reading the bytes of a live key is fine here: nothing leaves this method but a bool.
            return !_bytes.AsSpan().ContainsAnyExcept((byte)0);
        }
    }

    /// <summary>Borrows the key bytes; false when the key has been disposed.</summary>
    internal bool TryLease(out KeyLease lease)
    {
        while (true)
        {
            int refs = Volatile.Read(ref _refs);
            if (refs == 0 || IsDisposed)
            {
                lease = default;
                return false;
            }

            if (Interlocked.CompareExchange(ref _refs, refs + 1, refs) == refs)
            {
                lease = new KeyLease(this, _bytes);
                return true;
            }
        }
    }

    /// <summary>Zeroes the key as soon as no lease holds it. Idempotent and thread-safe.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Describes the key (scope, version, purpose); never its bytes.</summary>
    public abstract override string ToString();

    /// <summary>Ends a lease (called by <see cref="KeyLease.Dispose"/> only).</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            CryptographicOperations.ZeroMemory(_bytes);
        }
    }
}

/// <summary>
/// A borrowed view of a <see cref="SecretKey"/>'s bytes for the crypto code of this assembly.
/// Dispose it (with <c>using</c>) as soon as the AES operation is done; never copy the span.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly ref struct KeyLease
{
    private readonly SecretKey? _owner;
    private readonly byte[]? _bytes;

    internal KeyLease(SecretKey owner, byte[] bytes)
    {
        _owner = owner;
        _bytes = bytes;
    }

    public ReadOnlySpan<byte> Key => _bytes ?? throw new InvalidOperationException("empty key lease");

    public void Dispose() => _owner?.Release();
}
