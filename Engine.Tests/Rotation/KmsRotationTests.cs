using Engine.KmsLocal;
using Engine.Tests.Kms;

namespace Engine.Tests.Rotation;

/// <summary>
/// CMEK rotation through the real AWS SDK against the local KMS endpoint: from a key file to a KMS
/// key, from one KMS key to another, and the revocation of the old key sealing earlier copies.
/// </summary>
public sealed class KmsRotationTests : IAsyncLifetime
{
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync()
    {
        _kms = await KmsTestServer.StartAsync();
        KmsTestServer.ExportCredentialsToEnvironment();
    }

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public void Rotating_between_kms_keys_keeps_the_data_and_disabling_the_old_key_seals_older_copies()
    {
        LocalKmsKey first = _kms.CreateKey("first");
        LocalKmsKey second = _kms.CreateKey("second");
        string storeDir = Path.Combine(_kms.Root, "store");
        var model = new ExpectedStoreContents();
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir, CmekUri = _kms.Uri(first.Arn) }))
        {
            model.Write(store, "orders", 300);
            store.Flush();
            model.Write(store, "orders", 50);
        }

        string copy = Path.Combine(_kms.Root, "copy");
        CopyDirectory(storeDir, copy);
        long encryptsBefore = _kms.Server.CountOf("Encrypt");
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir }))
        {
            store.Keys.RotateCmek(_kms.Uri(second.Arn));
            store.Keys.RotateRootKey();
            model.Check(store);
        }

        Assert.Equal(encryptsBefore + 2, _kms.Server.CountOf("Encrypt")); // one wrap per rotation, nothing per file
        _kms.Server.Keys.Disable(first.KeyId);

        var e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = copy, CreateIfMissing = false }));
        Assert.Equal("DisabledException", e.CmekErrorCode);
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir }))
        {
            Assert.Contains(second.Arn, store.CmekUri, StringComparison.Ordinal);
            model.Check(store);
        }
    }

    [Fact]
    public void Rotating_to_a_disabled_kms_key_changes_nothing()
    {
        LocalKmsKey first = _kms.CreateKey();
        LocalKmsKey disabled = _kms.CreateKey();
        _kms.Server.Keys.Disable(disabled.KeyId);
        string storeDir = Path.Combine(_kms.Root, "store");
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir, CmekUri = _kms.Uri(first.Arn) });
        store.GetNamespace("n").Put("k", "v");

        var e = Assert.Throws<KeyUnavailableException>(() => store.Keys.RotateCmek(_kms.Uri(disabled.Arn)));

        Assert.Equal("DisabledException", e.CmekErrorCode);
        Assert.Contains(first.Arn, store.CmekUri, StringComparison.Ordinal);
        Assert.Equal("v", store.GetNamespace("n").Get("k"));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
