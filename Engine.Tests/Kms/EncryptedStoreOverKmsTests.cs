using Engine.KmsLocal;

namespace Engine.Tests.Kms;

/// <summary>
/// A whole <see cref="EncryptedStore"/> whose CMEK is an <c>aws-kms:</c> URI pointing at the local
/// endpoint. Credentials come from the AWS configuration chain (here the environment variables),
/// as they would in production: a CMEK URI never holds credentials.
/// </summary>
public sealed class EncryptedStoreOverKmsTests : IAsyncLifetime
{
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync()
    {
        _kms = await KmsTestServer.StartAsync();
        KmsTestServer.ExportCredentialsToEnvironment();
    }

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public void Store_writes_reopens_and_reads_through_aws_kms_and_kms_traffic_stays_constant()
    {
        LocalKmsKey key = _kms.CreateKey("store CMEK");
        string storeDir = Path.Combine(_kms.Root, "store");
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir, CmekUri = _kms.Uri(key.KeyId) }))
        {
            Assert.StartsWith("aws-kms:", store.CmekUri, StringComparison.Ordinal);
            store.GetNamespace("orders").Put("o-1", "first");
        }

        Assert.Equal(1, _kms.Server.CountOf("Encrypt"));
        long requestsBefore = _kms.Server.RequestCount;

        // Reopen knowing only the directory: the registry remembers the aws-kms: URI.
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir }))
        {
            StoreNamespace orders = store.GetNamespace("orders");
            Assert.Equal("first", orders.Get("o-1"));
            // A million operations: KMS traffic must not grow with them (one Decrypt at open, then at
            // most one DescribeKey per 30 s check interval).
            var elapsed = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 500_000; i++)
            {
                orders.Put($"k{i % 500}", $"v{i}");
                _ = orders.Get($"k{(i * 7) % 500}");
            }

            store.GetNamespace("other").Put("x", "y");
            long checksAllowed = (long)(elapsed.Elapsed / new StoreOptions().CmekCheckInterval) + 1;
            long kmsRequests = _kms.Server.RequestCount - requestsBefore;
            Assert.InRange(kmsRequests, 1, 1 + checksAllowed); // one Decrypt at open, nothing per operation
        }

        Assert.Equal(1, _kms.Server.CountOf("Decrypt"));
    }

    [Fact]
    public void Disabled_key_fails_at_open_naming_the_kms_error_and_enabling_restores_the_data()
    {
        LocalKmsKey key = _kms.CreateKey();
        string storeDir = Path.Combine(_kms.Root, "store");
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir, CmekUri = _kms.Uri(key.Arn) }))
        {
            store.GetNamespace("n").Put("k", "v");
        }

        _kms.Server.Keys.Disable(key.KeyId);
        var e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = storeDir }));
        Assert.Equal("DisabledException", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        Assert.Contains(key.Arn, e.Message, StringComparison.Ordinal);

        _kms.Server.Keys.Enable(key.KeyId);
        using EncryptedStore reopened = EncryptedStore.Open(new StoreOptions { Path = storeDir });
        Assert.Equal("v", reopened.GetNamespace("n").Get("k"));
    }

    [Fact]
    public void Deleted_key_fails_at_open_with_not_found()
    {
        LocalKmsKey key = _kms.CreateKey();
        string storeDir = Path.Combine(_kms.Root, "store");
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storeDir, CmekUri = _kms.Uri(key.KeyId) }))
        {
            store.GetNamespace("n").Put("k", "v");
        }

        _kms.Server.Keys.ScheduleDeletion(key.KeyId, 7);
        var pending = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = storeDir }));
        Assert.Equal("KMSInvalidStateException", pending.CmekErrorCode);

        _kms.Time.Advance(TimeSpan.FromDays(8));
        var gone = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = storeDir }));
        Assert.Equal("NotFoundException", gone.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, gone.FailureKind);
    }
}
