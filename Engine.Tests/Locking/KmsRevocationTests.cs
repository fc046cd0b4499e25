using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.KmsLocal;
using Engine.Tests.Kms;

namespace Engine.Tests.Locking;

/// <summary>
/// The lock state machine against the local AWS KMS endpoint through the real SDK: disabling the key
/// while writers run locks the store within one check interval (+1 s), enabling it unlocks, and a
/// stopped endpoint degrades, then locks at the key cache TTL, then recovers.
/// </summary>
[Collection(LockTimingGroup.Name)]
public sealed class KmsRevocationTests : IAsyncLifetime
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(500);
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync()
    {
        _kms = await KmsTestServer.StartAsync();
        KmsTestServer.ExportCredentialsToEnvironment();
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Disabling_the_kms_key_under_load_locks_within_one_interval_and_enabling_it_restores_every_write()
    {
        LocalKmsKey key = _kms.CreateKey("revocation rehearsal");
        string storeDir = Path.Combine(_kms.Root, "store");
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = storeDir,
            CmekUri = _kms.Uri(key.KeyId),
            CmekCheckInterval = s_interval,
        });
        StoreNamespace ns = store.GetNamespace("orders");
        var acknowledged = new ConcurrentDictionary<string, string>();
        int lockedErrors = 0;
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    ns.Put($"o{i:D7}", $"order {i}");
                    acknowledged[$"o{i:D7}"] = $"order {i}";
                }
                catch (StoreLockedException)
                {
                    Interlocked.Increment(ref lockedErrors);
                    await Task.Delay(5);
                }
            }
        });
        await WaitForAsync(() => acknowledged.Count > 500, TimeSpan.FromSeconds(10), "writes before revocation");

        _kms.Server.Keys.Disable(key.KeyId);
        var sinceDisable = Stopwatch.StartNew();
        await WaitForAsync(() => store.State == StoreState.Locked, s_interval + TimeSpan.FromSeconds(1), "lock after DisableKey");
        Assert.True(sinceDisable.Elapsed <= s_interval + TimeSpan.FromSeconds(1), $"locked {sinceDisable.Elapsed} after DisableKey");
        Assert.Contains("DisabledException", store.LockReason, StringComparison.Ordinal);
        var refused = Assert.Throws<StoreLockedException>(() => ns.Get("o0000001"));
        Assert.Contains("DisabledException", refused.Reason, StringComparison.Ordinal);
        await WaitForAsync(() => Volatile.Read(ref lockedErrors) > 0, TimeSpan.FromSeconds(5), "the writer to be refused");

        _kms.Server.Keys.Enable(key.KeyId);
        await WaitForAsync(() => store.State == StoreState.Open, s_interval + TimeSpan.FromSeconds(3), "unlock after EnableKey");
        await stop.CancelAsync();
        await writer;

        foreach ((string k, string v) in acknowledged)
        {
            Assert.Equal(v, ns.Get(k));
        }
    }

    [Fact]
    public async Task An_unreachable_kms_degrades_then_locks_at_the_ttl_then_recovers()
    {
        LocalKmsKey key = _kms.CreateKey();
        string storeDir = Path.Combine(_kms.Root, "store");
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = storeDir,
            CmekUri = _kms.Uri(key.KeyId),
            CmekCheckInterval = s_interval,
            KeyCacheTtl = TimeSpan.FromSeconds(3),
            CmekCheckTimeout = TimeSpan.FromSeconds(2),
        });
        StoreNamespace ns = store.GetNamespace("n");
        ns.Put("before", "1");

        _kms.Server.FailureMode = KmsFailureMode.ServiceUnavailable; // 503 on every request
        await WaitForAsync(() => store.State == StoreState.Degraded, s_interval + TimeSpan.FromSeconds(3), "degraded on 503");
        ns.Put("while-degraded", "2"); // cached keys keep serving
        await WaitForAsync(() => store.State == StoreState.Locked, TimeSpan.FromSeconds(10), "lock at the key cache TTL");
        Assert.Contains("key cache TTL", store.LockReason, StringComparison.Ordinal);
        Assert.Throws<StoreLockedException>(() => ns.Get("before"));

        _kms.Server.FailureMode = KmsFailureMode.None;
        await WaitForAsync(() => store.State == StoreState.Open, TimeSpan.FromSeconds(10), "recovery when the endpoint answers again");
        Assert.Equal("1", ns.Get("before"));
        Assert.Equal("2", ns.Get("while-degraded"));
    }
}
