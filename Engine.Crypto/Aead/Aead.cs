using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>
/// AES-256-GCM for every managed use (DEK wraps in file headers, the key registry body, the
/// <c>file:</c> CMEK's and the test CMEK's root-key wraps): one place that fixes the key, nonce and
/// tag sizes and draws every nonce from the CSPRNG. Bulk data frames are sealed by the native plugin.
/// </summary>
/// <remarks>
/// Nonces are random (96 bits), never counters: every key used here seals few messages (one DEK per
/// file, one registry generation per change), far below the 2^32 random-nonce bound. The caller
/// owns the key bytes (pinned and wiped as its key type does); this class copies none of them.
/// </remarks>
internal static class Aead
{
    /// <summary>AES-256 key size in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>GCM nonce size in bytes (96 bits).</summary>
    public const int NonceSize = 12;

    /// <summary>GCM tag size in bytes (128 bits).</summary>
    public const int TagSize = 16;

    /// <summary>
    /// Fills <paramref name="nonce"/> from the CSPRNG, then encrypts <paramref name="plaintext"/> into
    /// <paramref name="ciphertext"/> and writes the tag. <paramref name="associatedData"/> may contain
    /// the nonce (it is filled before it is read).
    /// </summary>
    /// <exception cref="ArgumentException">A key, nonce, tag or ciphertext of the wrong size.</exception>
    public static void Seal(ReadOnlySpan<byte> key, Span<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        using AesGcm aes = Create(key, nonce.Length, tag.Length);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
    }

    /// <summary>Authenticates and decrypts; on failure <paramref name="plaintext"/> is zeroed.</summary>
    /// <exception cref="AuthenticationTagMismatchException">The ciphertext, tag, nonce or associated
    /// data was altered, or the key is not the one that sealed it (callers map this to their own error).</exception>
    /// <exception cref="ArgumentException">A key, nonce, tag or plaintext of the wrong size.</exception>
    public static void Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        using AesGcm aes = Create(key, nonce.Length, tag.Length);
        aes.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
    }

    /// <summary>The one AesGcm construction: AES-256 only, 96-bit nonces, 128-bit tags.</summary>
    private static AesGcm Create(ReadOnlySpan<byte> key, int nonceLength, int tagLength)
    {
        if (key.Length != KeySize || nonceLength != NonceSize || tagLength != TagSize)
        {
            throw new ArgumentException($"AES-256-GCM needs a {KeySize}-byte key, a {NonceSize}-byte nonce and a {TagSize}-byte tag (got {key.Length}, {nonceLength}, {tagLength})");
        }

        return new AesGcm(key, TagSize);
    }
}
