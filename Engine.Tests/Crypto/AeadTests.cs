using System.Security.Cryptography;
using Engine.Crypto;

namespace Engine.Tests.Crypto;

/// <summary>The one managed AES-256-GCM helper: sizes fixed, nonces fresh, every altered input refused.</summary>
public sealed class AeadTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(Aead.KeySize);
    private static readonly byte[] Aad = "header"u8.ToArray();

    [Fact]
    public void Seal_then_open_round_trips_and_draws_a_fresh_nonce_each_time()
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(32);
        (byte[] nonceA, byte[] ctA, byte[] tagA) = Seal(plaintext);
        (byte[] nonceB, byte[] ctB, _) = Seal(plaintext);

        Assert.NotEqual(nonceA, nonceB);
        Assert.NotEqual(ctA, ctB);
        Assert.NotEqual(plaintext, ctA);
        byte[] opened = new byte[plaintext.Length];
        Aead.Open(Key, nonceA, ctA, tagA, opened, Aad);
        Assert.Equal(plaintext, opened);
    }

    [Theory]
    [InlineData("nonce")]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    [InlineData("aad")]
    [InlineData("key")]
    public void Any_altered_input_fails_authentication_and_leaves_no_plaintext(string part)
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(32);
        (byte[] nonce, byte[] ct, byte[] tag) = Seal(plaintext);
        byte[] aad = [.. Aad];
        byte[] key = [.. Key];
        byte[] altered = part switch
        {
            "nonce" => nonce,
            "ciphertext" => ct,
            "tag" => tag,
            "aad" => aad,
            _ => key,
        };
        altered[0] ^= 0x01;
        byte[] opened = new byte[plaintext.Length];

        Assert.Throws<AuthenticationTagMismatchException>(() => Aead.Open(key, nonce, ct, tag, opened, aad));
        Assert.All(opened, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(16, Aead.NonceSize, Aead.TagSize)]
    [InlineData(Aead.KeySize, 8, Aead.TagSize)]
    [InlineData(Aead.KeySize, Aead.NonceSize, 12)]
    public void Only_aes_256_with_96_bit_nonces_and_128_bit_tags_is_accepted(int keySize, int nonceSize, int tagSize)
    {
        byte[] key = new byte[keySize];
        byte[] nonce = new byte[nonceSize];
        byte[] tag = new byte[tagSize];
        byte[] buffer = new byte[16];

        Assert.Throws<ArgumentException>(() => Aead.Seal(key, nonce, buffer, buffer, tag, Aad));
        Assert.Throws<ArgumentException>(() => Aead.Open(key, nonce, buffer, tag, buffer, Aad));
        Assert.All(nonce, b => Assert.Equal(0, b)); // refused before any nonce is drawn
    }

    private static (byte[] Nonce, byte[] Ciphertext, byte[] Tag) Seal(byte[] plaintext)
    {
        byte[] nonce = new byte[Aead.NonceSize];
        byte[] ct = new byte[plaintext.Length];
        byte[] tag = new byte[Aead.TagSize];
        Aead.Seal(Key, nonce, plaintext, ct, tag, Aad);
        return (nonce, ct, tag);
    }
}
