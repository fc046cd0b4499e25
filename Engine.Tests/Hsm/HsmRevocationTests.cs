using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Hsm;

/// <summary>
/// The lock state machine over a SoftHSM2 key: turning the key's decrypt usage off while writers run locks the
/// store within one check interval (+1 s) and turning it on again unlocks it with every acknowledged write
/// there; deleting the key or removing the token locks it for good (a deleted AES key cannot come back), and
/// opening the store then fails with KeyUnavailable without touching a byte.
/// </summary>
[Collection(HsmGroup.Name)]
public sealed class HsmRevocationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_bound = s_interval + TimeSpan.FromSeconds(1);

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
    public async Task Turning_the_keys_usage_off_under_load_locks_within_one_interval_and_turning_it_on_restores_every_write()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("cmek");
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri, CmekCheckInterval = s_interval });
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

        token.SetUsage("cmek", allowed: false);
        var sinceRevoke = Stopwatch.StartNew();
        await WaitForAsync(() => store.State == StoreState.Locked, s_bound, "lock after CKA_DECRYPT=false");
        TimeSpan lockLatency = sinceRevoke.Elapsed;
        Assert.True(lockLatency <= s_bound, $"locked {lockLatency} after the usage was turned off");
        Assert.Contains("CKR_KEY_FUNCTION_NOT_PERMITTED", store.LockReason, StringComparison.Ordinal);
        var refused = Assert.Throws<StoreLockedException>(() => ns.Get("o0000001"));
        Assert.Contains("CKR_KEY_FUNCTION_NOT_PERMITTED", refused.Reason, StringComparison.Ordinal);
        await WaitForAsync(() => Volatile.Read(ref lockedErrors) > 0, TimeSpan.FromSeconds(5), "the writer to be refused");

        token.SetUsage("cmek", allowed: true);
        var sinceRestore = Stopwatch.StartNew();
        await WaitForAsync(() => store.State == StoreState.Open, s_interval + TimeSpan.FromSeconds(3), "unlock after CKA_DECRYPT=true");
        TimeSpan unlockLatency = sinceRestore.Elapsed;
        await stop.CancelAsync();
        await writer;

        foreach ((string k, string v) in acknowledged)
        {
            Assert.Equal(v, ns.Get(k));
        }

        output.WriteLine($"check interval {s_interval.TotalMilliseconds} ms: locked {lockLatency.TotalMilliseconds:F0} ms after CKA_DECRYPT=false, open again {unlockLatency.TotalMilliseconds:F0} ms after CKA_DECRYPT=true; {acknowledged.Count} acknowledged writes all read back");
    }

    [Fact]
    public async Task Deleting_the_key_locks_the_store_for_good_and_opening_fails_without_touching_a_file()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("cmek");
        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri, CmekCheckInterval = s_interval }))
        {
            store.GetNamespace("n").Put("k", "v");
            token.DeleteKey("cmek"); // pkcs11-tool, another process
            var sinceDelete = Stopwatch.StartNew();
            await WaitForAsync(() => store.State == StoreState.Locked, s_bound, "lock after the key was deleted");
            output.WriteLine($"locked {sinceDelete.Elapsed.TotalMilliseconds:F0} ms after the key was deleted");
            Assert.Contains("ObjectNotFound", store.LockReason, StringComparison.Ordinal);
            Assert.Throws<StoreLockedException>(() => store.GetNamespace("n").Get("k"));
        }

        Dictionary<string, byte[]> before = EncryptedStoreOverHsmTests.Snapshot(dir.StorePath);
        var e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }));
        Assert.Equal("ObjectNotFound", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        EncryptedStoreOverHsmTests.AssertUnchanged(before, dir.StorePath);

        // A new key under the same label is another key: it does not unwrap this store's root key.
        token.CreateKey("cmek");
        e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }));
        Assert.Equal("CKR_ENCRYPTED_DATA_INVALID", e.CmekErrorCode);
        EncryptedStoreOverHsmTests.AssertUnchanged(before, dir.StorePath);
    }

    [Fact]
    public async Task Removing_the_token_locks_the_store_within_one_interval()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("cmek");
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri, CmekCheckInterval = s_interval });
        store.GetNamespace("n").Put("k", "v");
        token.Delete(); // softhsm2-util --delete-token: the token is gone
        await WaitForAsync(() => store.State == StoreState.Locked, s_bound, "lock after the token was removed");
        Assert.Contains("CKR_TOKEN_NOT_PRESENT", store.LockReason, StringComparison.Ordinal);
    }
}
