using System.Security.Cryptography;
using Engine.Cmek.AwsKms;
using Engine.Crypto;
using Engine.KmsLocal;
using Engine.Testing;

namespace Engine.Tests.Kms;

/// <summary>The call counter, the key cache, and the key registry over AWS KMS.</summary>
public sealed class CmekLayerTests : IAsyncLifetime
{
    private static readonly byte[] StoreId = Convert.FromHexString("00112233445566778899aabbccddeeff");

    private KmsTestServer _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsTestServer.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task Cached_unwraps_cost_one_kms_call_per_ttl()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        AwsKmsCmek kms = _kms.Cmek(_kms.CreateKey().KeyId);
        using var counting = new TestCmek(kms);
        using var cache = new CachingCmek(counting, TimeSpan.FromMinutes(15), time);
        byte[] root = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = await cache.WrapKeyAsync(root, StoreId);

        for (int i = 0; i < 10_000; i++)
        {
            byte[] key = await cache.UnwrapKeyAsync(wrapped, StoreId);
            Assert.Equal(32, key.Length);
            CryptographicOperations.ZeroMemory(key);
        }

        Assert.Equal(1, counting.UnwrapCount);
        Assert.Equal(1, _kms.Server.CountOf("Decrypt"));
        Assert.Equal(2, kms.CallCount);
        Assert.Equal(9_999, cache.Hits);

        time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(root, await cache.UnwrapKeyAsync(wrapped, StoreId));
        Assert.Equal(2, _kms.Server.CountOf("Decrypt"));
        Assert.Equal(3, counting.CallCount);
    }

    [Fact]
    public async Task Cache_asks_again_after_ttl_and_then_sees_the_revocation()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        LocalKmsKey key = _kms.CreateKey();
        using var cache = new CachingCmek(_kms.Cmek(key.KeyId), TimeSpan.FromMinutes(1), time);
        byte[] wrapped = await cache.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);
        _ = await cache.UnwrapKeyAsync(wrapped, StoreId);

        _kms.Server.Keys.Disable(key.KeyId);
        _ = await cache.UnwrapKeyAsync(wrapped, StoreId); // within the TTL: served from the cache
        time.Advance(TimeSpan.FromMinutes(1));
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cache.UnwrapKeyAsync(wrapped, StoreId));
        Assert.Equal("DisabledException", e.CmekErrorCode);

        // Health checks are never cached.
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cache.CheckAsync());
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
    }

    [Fact]
    public async Task Concurrent_misses_reach_kms_once_and_invalidate_forgets()
    {
        using var counting = new TestCmek(_kms.Cmek(_kms.CreateKey().KeyId));
        using var cache = new CachingCmek(counting);
        byte[] wrapped = await cache.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => cache.UnwrapKeyAsync(wrapped, StoreId))));
        Assert.Equal(1, counting.UnwrapCount);

        cache.Invalidate();
        _ = await cache.UnwrapKeyAsync(wrapped, StoreId);
        Assert.Equal(2, counting.UnwrapCount);

        cache.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.UnwrapKeyAsync(wrapped, StoreId));
    }

    [Fact]
    public async Task Key_registry_over_aws_kms_reopens_and_a_disabled_key_fails_at_open()
    {
        LocalKmsKey key = _kms.CreateKey();
        string storeDir = Path.Combine(_kms.Root, "store");
        Directory.CreateDirectory(storeDir);
        using (AwsKmsCmek cmek = _kms.Cmek(key.Arn))
        {
            using KeyRegistry created = await KeyRegistry.CreateAsync(storeDir, cmek);
            created.CreateNamespace("orders");
            AwsKmsOptions recorded = AwsKmsUri.Parse(created.CmekUri);
            Assert.Equal(key.Arn, recorded.KeyId);
            Assert.Equal(_kms.Server.Endpoint, recorded.Endpoint);
            Assert.Equal(KmsTestServer.Region, recorded.Region);
        }

        // Reopen knowing only the directory: the URI recorded in the registry opens the CMEK.
        string uri = KeyRegistry.ReadCmekUri(storeDir)!;
        using (AwsKmsCmek reopened = AwsKmsCmek.Open(uri, new AwsKmsOptions { Credentials = KmsTestServer.Credentials, MaxErrorRetry = 0 }))
        using (KeyRegistry registry = await KeyRegistry.OpenAsync(storeDir, reopened))
        {
            Assert.True(registry.TryGetNamespace("orders", out _));
            Assert.Equal(1, reopened.CallCount);
        }

        _kms.Server.Keys.Disable(key.KeyId);
        using AwsKmsCmek again = _kms.Cmek(key.Arn);
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => KeyRegistry.OpenAsync(storeDir, again));
        Assert.Equal("DisabledException", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
    }
}
