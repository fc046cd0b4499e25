using System.Security.Cryptography;
using Engine.Crypto;

namespace Engine.Moves;

/// <summary>
/// The transfer KEK of one namespace export: a fresh random AES-256 key that wraps the DEK of every
/// exported file (in the file's header, replacing the namespace KEK's envelope) and seals the export
/// manifest. It exists on disk only wrapped by the target's CMEK (docs/format.md, "Namespace export").
/// </summary>
/// <remarks>
/// A transfer envelope starts with <see cref="EnvelopeMarker"/>, not with the key envelope version 1 of
/// <c>KeyEnvelope</c>: no store's file key service ever accepts it, so an exported file can be opened
/// only by an import that holds the transfer KEK. The wrap is bound to the export id and the header
/// slot's fixed fields (file id, generation, frame size), so envelopes cannot be swapped between files
/// or exports.
/// </remarks>
internal sealed class TransferKey : IDisposable
{
    public const byte EnvelopeMarker = 0x54; // 'T'
    public const int ExportIdSize = 16;
    public const int NonceOffset = 1;
    public const int WrappedDekOffset = NonceOffset + Aead.NonceSize;
    public const int TagOffset = WrappedDekOffset + FileKeyService.DekSize;
    public const int EnvelopeSize = TagOffset + Aead.TagSize; // 61

    private static ReadOnlySpan<byte> DekAadPrefix => "EKV-XFR1"u8;

    private static ReadOnlySpan<byte> CmekContextPrefix => "EKV-MOVE1"u8;

    private readonly OpaqueKey _key;

    private TransferKey(byte[] exportId, OpaqueKey key)
    {
        ExportId = exportId;
        _key = key;
    }

    /// <summary>Random id of the export (public): binds the CMEK wrap and every envelope to this export.</summary>
    public byte[] ExportId { get; }

    /// <summary>A new transfer KEK and export id from the CSPRNG.</summary>
    public static TransferKey Generate() =>
        new(RandomNumberGenerator.GetBytes(ExportIdSize), OpaqueKey.Generate("namespace transfer KEK"));

    /// <summary>Wraps the transfer KEK for the target's CMEK (bound to the export id).</summary>
    /// <exception cref="KeyUnavailableException">The CMEK is unavailable.</exception>
    public async Task<byte[]> WrapForAsync(ICmekProvider cmek, CancellationToken ct)
    {
        byte[] material = CopyMaterial();
        try
        {
            return await cmek.WrapKeyAsync(material, CmekContext(ExportId), ct).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>Unwraps the transfer KEK of an export with the target store's CMEK.</summary>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap it (the export was made for another CMEK) or is unavailable.</exception>
    public static async Task<TransferKey> UnwrapAsync(ICmekProvider cmek, byte[] exportId, byte[] wrapped, CancellationToken ct)
    {
        byte[] material = await cmek.UnwrapKeyAsync(wrapped, CmekContext(exportId), ct).ConfigureAwait(false);
        try
        {
            if (material.Length != Aead.KeySize)
            {
                throw new IntegrityException($"the export's transfer key unwraps to {material.Length} bytes, not {Aead.KeySize}");
            }
            return new TransferKey(exportId, OpaqueKey.FromMaterial("namespace transfer KEK", material));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    public static bool IsTransferEnvelope(ReadOnlySpan<byte> envelope) =>
        envelope.Length == EnvelopeSize && envelope[0] == EnvelopeMarker;

    /// <summary>Writes the transfer envelope of <paramref name="dek"/> for the header slot whose fixed fields are <paramref name="slotAad"/>.</summary>
    public int WrapDek(ReadOnlySpan<byte> dek, ReadOnlySpan<byte> slotAad, Span<byte> envelope)
    {
        if (envelope.Length < EnvelopeSize)
        {
            throw new ArgumentException($"a transfer envelope needs {EnvelopeSize} bytes, got {envelope.Length}", nameof(envelope));
        }
        envelope[0] = EnvelopeMarker;
        Span<byte> aad = stackalloc byte[DekAadPrefix.Length + ExportIdSize + slotAad.Length];
        WriteDekAad(aad, slotAad);
        using KeyLease lease = Lease();
        Aead.Seal(
            lease.Key,
            envelope.Slice(NonceOffset, Aead.NonceSize),
            dek,
            envelope.Slice(WrappedDekOffset, FileKeyService.DekSize),
            envelope.Slice(TagOffset, Aead.TagSize),
            aad);
        return EnvelopeSize;
    }

    /// <summary>Opens a transfer envelope.</summary>
    /// <exception cref="IntegrityException">The envelope or the header slot was altered, or belongs to another export.</exception>
    public void UnwrapDek(string path, ReadOnlySpan<byte> slotAad, ReadOnlySpan<byte> envelope, Span<byte> dekOut)
    {
        if (!IsTransferEnvelope(envelope))
        {
            throw new IntegrityException($"{path}: the header holds no transfer envelope (not a file of this export)", path);
        }
        Span<byte> aad = stackalloc byte[DekAadPrefix.Length + ExportIdSize + slotAad.Length];
        WriteDekAad(aad, slotAad);
        Span<byte> dek = dekOut[..FileKeyService.DekSize];
        try
        {
            using KeyLease lease = Lease();
            Aead.Open(
                lease.Key,
                envelope.Slice(NonceOffset, Aead.NonceSize),
                envelope.Slice(WrappedDekOffset, FileKeyService.DekSize),
                envelope.Slice(TagOffset, Aead.TagSize),
                dek,
                aad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(dek);
            throw new IntegrityException($"{path}: the transfer envelope does not authenticate (altered header, or a file of another export)", path, inner: e);
        }
    }

    /// <summary>Seals the manifest body (AES-256-GCM under the transfer KEK, <paramref name="aad"/> = the manifest's plaintext header).</summary>
    public void Seal(ReadOnlySpan<byte> plaintext, Span<byte> nonce, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        using KeyLease lease = Lease();
        Aead.Seal(lease.Key, nonce, plaintext, ciphertext, tag, aad);
    }

    /// <summary>Opens the manifest body.</summary>
    /// <exception cref="IntegrityException">The manifest was altered.</exception>
    public void Open(string path, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        try
        {
            using KeyLease lease = Lease();
            Aead.Open(lease.Key, nonce, ciphertext, tag, plaintext, aad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new IntegrityException($"{path}: the export manifest does not authenticate (it was altered)", path, inner: e);
        }
    }

    public void Dispose() => _key.Dispose();

    public override string ToString() => "TransferKey(export " + Convert.ToHexStringLower(ExportId) + ")";

    private void WriteDekAad(Span<byte> aad, ReadOnlySpan<byte> slotAad)
    {
        DekAadPrefix.CopyTo(aad);
        ExportId.CopyTo(aad[DekAadPrefix.Length..]);
        slotAad.CopyTo(aad[(DekAadPrefix.Length + ExportIdSize)..]);
    }

    private static byte[] CmekContext(byte[] exportId) => [.. CmekContextPrefix, .. exportId];

    private byte[] CopyMaterial()
    {
        using KeyLease lease = Lease();
        return lease.Key.ToArray();
    }

    private KeyLease Lease() =>
        _key.TryLease(out KeyLease lease) ? lease : throw new KeyUnavailableException("the transfer key has been zeroed");
}
