using System.Security.Cryptography;
using Engine.Cmek.Pkcs11;
using Engine.Crypto;

namespace Engine.Tests.Hsm;

/// <summary>
/// The <c>pkcs11:</c> provider alone against a SoftHSM2 token: URI parsing, GCM wrap and unwrap bound to the
/// store id, the health check's single call, and what each kind of revocation is reported as.
/// </summary>
[Collection(HsmGroup.Name)]
public sealed class Pkcs11CmekTests
{
    private static readonly byte[] StoreId = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
    private static readonly byte[] OtherStoreId = [.. Enumerable.Range(101, 16).Select(i => (byte)i)];

    [Fact]
    public void Uri_is_parsed_canonically_and_unknown_or_secret_attributes_are_refused_without_echoing_them()
    {
        using Pkcs11Cmek cmek = Pkcs11Cmek.Open("pkcs11:token=My%20Token;object=cmek?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/ekv/pin");
        Assert.Equal("pkcs11:token=My%20Token;object=cmek;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/ekv/pin", cmek.Uri);
        Assert.Equal($"Pkcs11Cmek({cmek.Uri})", cmek.ToString());
        using (Pkcs11Cmek again = Pkcs11Cmek.Open(cmek.Uri))
        {
            Assert.Equal(cmek.Uri, again.Uri);
        }

        var e = Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O?module-path=/m.so&pin-value=s3cr3t-PIN"));
        Assert.Contains("pin-value", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-PIN", e.ToString(), StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O;slot-id=3?module-path=/m.so&pin-source=file:/p"));
        Assert.Contains("'slot-id' is not supported", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O?module-path=/m.so&pin-source=file:/p&pin=1234"));
        Assert.Contains("'pin' is not supported", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("1234", e.Message, StringComparison.Ordinal);
        Assert.Contains("names no token", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:object=O?module-path=/m.so&pin-source=file:/p")).Message, StringComparison.Ordinal);
        Assert.Contains("names no key", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T?module-path=/m.so&pin-source=file:/p")).Message, StringComparison.Ordinal);
        Assert.Contains("names no module", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O?pin-source=file:/p")).Message, StringComparison.Ordinal);
        Assert.Contains("names no PIN", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O?module-path=/m.so")).Message, StringComparison.Ordinal);
        Assert.Contains("type=secret-key", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;object=O;type=private?module-path=/m.so&pin-source=file:/p")).Message, StringComparison.Ordinal);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => Pkcs11Cmek.Open("pkcs11:token=T;token=U;object=O?module-path=/m.so&pin-source=file:/p")).Message, StringComparison.Ordinal);

        // Registered by scheme, as applications do at start-up.
        using ICmekProvider opened = CmekProviders.Open("pkcs11:token=T;object=O?module-path=/m.so&pin-source=file:/p");
        Assert.IsType<Pkcs11Cmek>(opened);
    }

    [Fact]
    public async Task Wraps_inside_the_token_with_gcm_bound_to_the_store_id_and_checks_with_one_call()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("cmek");
        token.CreateKey("other");
        byte[] root = RandomNumberGenerator.GetBytes(32);
        using var cmek = (Pkcs11Cmek)CmekProviders.Open(uri);

        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);
        Assert.Equal(1 + 12 + 32 + 16, wrapped.Length); // version, IV, ciphertext, GCM tag
        Assert.DoesNotContain(Convert.ToHexString(root), Convert.ToHexString(wrapped), StringComparison.Ordinal);
        byte[] again = await cmek.WrapKeyAsync(root, StoreId);
        Assert.NotEqual(wrapped, again); // a fresh IV per wrap

        byte[] unwrapped = await cmek.UnwrapKeyAsync(wrapped, StoreId);
        Assert.Equal(root, unwrapped);
        CryptographicOperations.ZeroMemory(unwrapped);

        // Another store's id, a flipped bit, or another key of the same token: the blob does not authenticate.
        AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, OtherStoreId)), "CKR_ENCRYPTED_DATA_INVALID");
        byte[] flipped = (byte[])wrapped.Clone();
        flipped[20] ^= 1;
        AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(flipped, StoreId)), "CKR_ENCRYPTED_DATA_INVALID");
        using (var other = (Pkcs11Cmek)CmekProviders.Open(token.Uri("other")))
        {
            AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => other.UnwrapKeyAsync(wrapped, StoreId)), "CKR_ENCRYPTED_DATA_INVALID");
        }

        // Connected: each health check is exactly one PKCS#11 call (C_GetAttributeValue), and an unwrap two
        // (C_DecryptInit, then one C_Decrypt into the provider's own buffer).
        await cmek.CheckAsync();
        long before = cmek.CallCount;
        for (int i = 0; i < 10; i++)
        {
            await cmek.CheckAsync();
        }

        Assert.Equal(before + 10, cmek.CallCount);
        before = cmek.CallCount;
        CryptographicOperations.ZeroMemory(await cmek.UnwrapKeyAsync(wrapped, StoreId));
        Assert.Equal(before + 2, cmek.CallCount);
    }

    [Fact]
    public async Task Usage_turned_off_deletion_wrong_pin_and_a_removed_token_are_revocations_naming_the_cause()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        SoftHsm.Token doomed = SoftHsm.CreateToken();
        string uri = token.CreateKey("cmek");
        string doomedUri = doomed.CreateKey("cmek");
        token.CreateKey("to-delete");
        byte[] root = RandomNumberGenerator.GetBytes(32);
        using var cmek = (Pkcs11Cmek)CmekProviders.Open(uri);
        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);
        await cmek.CheckAsync();

        token.SetUsage("cmek", allowed: false);
        AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync()), "CKR_KEY_FUNCTION_NOT_PERMITTED");
        AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId)), "CKR_KEY_FUNCTION_NOT_PERMITTED");
        token.SetUsage("cmek", allowed: true);
        await cmek.CheckAsync();
        Assert.Equal(root, await cmek.UnwrapKeyAsync(wrapped, StoreId));

        using (var deleted = (Pkcs11Cmek)CmekProviders.Open(token.Uri("to-delete")))
        {
            await deleted.CheckAsync();
            token.DeleteKey("to-delete");
            AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => deleted.CheckAsync()), "ObjectNotFound");
        }

        using (var removed = (Pkcs11Cmek)CmekProviders.Open(doomedUri))
        {
            await removed.CheckAsync();
            doomed.Delete();
            AssertRevoked(await Assert.ThrowsAsync<KeyUnavailableException>(() => removed.CheckAsync()), "CKR_TOKEN_NOT_PRESENT");
        }

        string wrongPin = Path.Combine(SoftHsm.Root, "wrong-" + token.Label + ".pin");
        File.WriteAllText(wrongPin, "not-the-pin");
        using (var wrong = (Pkcs11Cmek)CmekProviders.Open(token.Uri("cmek", wrongPin)))
        {
            KeyUnavailableException e = await Assert.ThrowsAsync<KeyUnavailableException>(() => wrong.UnwrapKeyAsync(wrapped, StoreId));
            AssertRevoked(e, "CKR_PIN_INCORRECT");
            Assert.DoesNotContain("not-the-pin", e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token.Pin, e.ToString(), StringComparison.Ordinal);
        }

        // The wrong PIN logged the process out; the right one logs in again on the next call.
        Assert.Equal(root, await cmek.UnwrapKeyAsync(wrapped, StoreId));
        Assert.DoesNotContain(token.Pin, cmek.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_extractable_key_is_refused()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        SoftHsm.Run("pkcs11-tool", "--module", SoftHsm.ModulePath, "--token-label", token.Label, "--login", "--pin", token.Pin,
            "--keygen", "--key-type", "AES:32", "--label", "leaky", "--extractable", "--private");
        using ICmekProvider cmek = CmekProviders.Open(token.Uri("leaky"));
        KeyUnavailableException e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.WrapKeyAsync(new byte[32], StoreId));
        AssertRevoked(e, "KeyExtractable");
    }

    [Fact]
    public void Only_the_provider_package_references_pkcs11interop()
    {
        // An application without an HSM must not pull Pkcs11Interop, nor one with an HSM the AWS SDK.
        foreach (System.Reflection.Assembly assembly in new[] { typeof(CmekProviders).Assembly, typeof(EncryptedStore).Assembly, typeof(Engine.Cmek.AwsKms.AwsKmsCmek).Assembly })
        {
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), a => a.Name == "Pkcs11Interop");
        }

        System.Reflection.AssemblyName[] references = typeof(Pkcs11Cmek).Assembly.GetReferencedAssemblies();
        Assert.Contains(references, a => a.Name == "Pkcs11Interop");
        Assert.DoesNotContain(references, a => a.Name!.StartsWith("AWSSDK", StringComparison.Ordinal));
    }

    private static void AssertRevoked(KeyUnavailableException e, string code)
    {
        Assert.Equal(code, e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        Assert.Contains(code, e.Message, StringComparison.Ordinal);
    }
}
