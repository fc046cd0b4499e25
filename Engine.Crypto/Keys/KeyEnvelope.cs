using System.Buffers.Binary;

namespace Engine.Crypto;

/// <summary>
/// Byte layout of a key envelope (version 1), the wrapped DEK stored in each encrypted file's
/// header. See docs/format.md, "Key envelope".
/// </summary>
internal static class KeyEnvelope
{
    public const byte Version = 1;
    public const int NonceSize = Aead.NonceSize;
    public const int TagSize = Aead.TagSize;

    public const int VersionOffset = 0;
    public const int KindOffset = 1;
    public const int ScopeIdOffset = 2;
    public const int KekVersionOffset = 6;
    public const int NonceOffset = 10;
    public const int WrappedDekOffset = 22;
    public const int TagOffset = WrappedDekOffset + FileKeyService.DekSize;
    public const int Size = TagOffset + TagSize; // 70

    /// <summary>Domain separation prefix of the wrap associated data.</summary>
    public static ReadOnlySpan<byte> AadPrefix => "EKV-DEK1"u8;

    /// <summary>Length of the wrap associated data for a caller AAD of <paramref name="aadLength"/> bytes.</summary>
    public static int WrapAadLength(int aadLength) => AadPrefix.Length + 1 + 4 + 4 + aadLength;

    /// <summary>Writes <c>"EKV-DEK1" || kind || scope id || KEK version || aad</c>.</summary>
    public static void WriteWrapAad(Span<byte> destination, KeyScope scope, uint kekVersion, ReadOnlySpan<byte> aad)
    {
        AadPrefix.CopyTo(destination);
        int p = AadPrefix.Length;
        destination[p] = (byte)scope.Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(p + 1)..], scope.NamespaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(p + 5)..], kekVersion);
        aad.CopyTo(destination[(p + 9)..]);
    }

    public static void WriteFields(Span<byte> envelope, KeyScope scope, uint kekVersion)
    {
        envelope[VersionOffset] = Version;
        envelope[KindOffset] = (byte)scope.Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(envelope[ScopeIdOffset..], scope.NamespaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(envelope[KekVersionOffset..], kekVersion);
    }

    /// <summary>Reads the plaintext fields; false (with a reason) when the envelope is malformed.</summary>
    public static bool TryReadFields(ReadOnlySpan<byte> envelope, out KeyScope scope, out uint kekVersion, out string problem)
    {
        scope = default;
        kekVersion = 0;
        if (envelope.Length != Size)
        {
            problem = $"key envelope is {envelope.Length} bytes; version {Version} envelopes are {Size}";
            return false;
        }

        if (envelope[VersionOffset] != Version)
        {
            problem = $"key envelope version {envelope[VersionOffset]} is not {Version}";
            return false;
        }

        byte kind = envelope[KindOffset];
        if (kind > (byte)KeyScopeKind.Ephemeral)
        {
            problem = $"key envelope names unknown scope kind {kind}";
            return false;
        }

        scope = new KeyScope((KeyScopeKind)kind, BinaryPrimitives.ReadUInt32LittleEndian(envelope[ScopeIdOffset..]));
        kekVersion = BinaryPrimitives.ReadUInt32LittleEndian(envelope[KekVersionOffset..]);
        problem = string.Empty;
        return true;
    }
}
