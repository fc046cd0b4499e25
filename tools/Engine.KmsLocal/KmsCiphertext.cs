using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Engine.Crypto;

namespace Engine.KmsLocal;

/// <summary>
/// The local KMS's ciphertext blob: <c>0x01 || key id (16-byte UUID) || nonce (12) || ciphertext ||
/// tag (16)</c>, AES-256-GCM under the key's material. The associated data binds the format, the
/// key id and the encryption context (pairs sorted by key, each string length-prefixed), so a
/// blob decrypts only with the same key and the same context, as in AWS KMS. The cipher is the
/// engine's one AES-256-GCM helper (<see cref="Aead"/>), which also draws the nonce.
/// </summary>
internal static class KmsCiphertext
{
    public const int MaxPlaintext = 4096;

    private const byte Version = 1;
    private const int IdSize = 16;
    private const int NonceSize = Aead.NonceSize;
    private const int TagSize = Aead.TagSize;
    private const int Overhead = 1 + IdSize + NonceSize + TagSize;

    private static readonly byte[] Domain = "ekv-local-kms/v1"u8.ToArray();

    public static byte[] Seal(KeyRecord key, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string> context)
    {
        byte[] blob = new byte[Overhead + plaintext.Length];
        blob[0] = Version;
        WriteId(key.KeyId, blob.AsSpan(1, IdSize));
        byte[] aad = Aad(blob.AsSpan(1, IdSize), context);
        Aead.Seal(key.Material, blob.AsSpan(1 + IdSize, NonceSize), plaintext, blob.AsSpan(1 + IdSize + NonceSize, plaintext.Length), blob.AsSpan(blob.Length - TagSize), aad);
        return blob;
    }

    /// <summary>The key id a blob names; throws <c>InvalidCiphertextException</c> if it is not one of ours.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < Overhead || blob[0] != Version)
        {
            throw KmsError.InvalidCiphertext("The ciphertext is not a valid ciphertext blob for this KMS.");
        }

        return new Guid(blob.Slice(1, IdSize), bigEndian: true).ToString();
    }

    public static byte[] Open(KeyRecord key, ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string> context)
    {
        _ = KeyIdOf(blob);
        int length = blob.Length - Overhead;
        byte[] plaintext = new byte[length];
        byte[] aad = Aad(blob.Slice(1, IdSize), context);
        try
        {
            Aead.Open(key.Material, blob.Slice(1 + IdSize, NonceSize), blob.Slice(1 + IdSize + NonceSize, length), blob[^TagSize..], plaintext, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw KmsError.InvalidCiphertext("The ciphertext or its encryption context is invalid or was altered.");
        }

        return plaintext;
    }

    private static void WriteId(string keyId, Span<byte> destination)
    {
        if (!Guid.TryParse(keyId, out Guid id) || !id.TryWriteBytes(destination, bigEndian: true, out _))
        {
            throw KmsError.Internal($"key id {keyId} is not a UUID");
        }
    }

    private static byte[] Aad(ReadOnlySpan<byte> keyId, IReadOnlyDictionary<string, string> context)
    {
        using var stream = new MemoryStream();
        stream.Write(Domain);
        stream.Write(keyId);
        Span<byte> length = stackalloc byte[4];
        foreach (KeyValuePair<string, string> pair in context.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (string part in (string[])[pair.Key, pair.Value])
            {
                byte[] utf8 = Encoding.UTF8.GetBytes(part);
                BinaryPrimitives.WriteInt32BigEndian(length, utf8.Length);
                stream.Write(length);
                stream.Write(utf8);
            }
        }

        return stream.ToArray();
    }
}
