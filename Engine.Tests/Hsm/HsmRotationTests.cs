using Engine.KmsLocal;
using Engine.Tests.Kms;
using Engine.Tests.Rotation;
using Engine.Tests.Support;

namespace Engine.Tests.Hsm;

/// <summary>
/// CMEK rotation between a key file, AWS KMS (the local endpoint, through the real SDK) and PKCS#11 keys, in
/// every direction that involves <c>pkcs11:</c>: file → pkcs11 → aws-kms → pkcs11 (another key) → pkcs11 →
/// file. After each step the store holds exactly its model, reopens from its directory under the new CMEK, and
/// the previous CMEK is no longer needed.
/// </summary>
[Collection(HsmGroup.Name)]
public sealed class HsmRotationTests : IAsyncLifetime
{
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync()
    {
        _kms = await KmsTestServer.StartAsync();
        KmsTestServer.ExportCredentialsToEnvironment();
    }

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public void Rotating_between_file_aws_kms_and_pkcs11_in_every_direction_keeps_the_data()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string first = token.CreateKey("first");
        string second = token.CreateKey("second");
        LocalKmsKey kmsKey = _kms.CreateKey("rotation");
        using var dir = new TestStoreDirectory();
        var model = new ExpectedStoreContents();
        using (EncryptedStore store = dir.Open())
        {
            model.Write(store, "orders", 200);
            store.Flush();
            model.Write(store, "orders", 30);
        }

        string[] chain = [first, _kms.Uri(kmsKey.Arn), second, first, dir.CmekUri];
        string[] schemes = ["pkcs11:", "aws-kms:", "pkcs11:", "pkcs11:", "file:"];
        for (int step = 0; step < chain.Length; step++)
        {
            using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }))
            {
                store.Keys.RotateCmek(chain[step]);
                Assert.StartsWith(schemes[step], store.CmekUri, StringComparison.Ordinal);
                model.Write(store, "orders", 20);
                model.Check(store);
            }

            using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }))
            {
                Assert.StartsWith(schemes[step], store.CmekUri, StringComparison.Ordinal);
                model.Check(store);
            }
        }

        // The store no longer needs any of the HSM keys: their usage off, it still opens (under the key file).
        token.SetUsage("first", allowed: false);
        token.SetUsage("second", allowed: false);
        _kms.Server.Keys.Disable(kmsKey.KeyId);
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }))
        {
            model.Check(store);
        }
    }

    [Fact]
    public void Rotating_to_a_pkcs11_key_that_may_not_encrypt_changes_nothing()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string disabled = token.CreateKey("disabled");
        token.SetUsage("disabled", allowed: false);
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = dir.Open();
        store.GetNamespace("n").Put("k", "v");

        var e = Assert.Throws<KeyUnavailableException>(() => store.Keys.RotateCmek(disabled));

        Assert.Equal("CKR_KEY_FUNCTION_NOT_PERMITTED", e.CmekErrorCode);
        Assert.StartsWith("file:", store.CmekUri, StringComparison.Ordinal);
        Assert.Equal("v", store.GetNamespace("n").Get("k"));
    }
}
