using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Crypto;
using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Locking;

/// <summary>Revocation locks the store within one check interval; restoring the key brings the same data back.</summary>
[Collection(LockTimingGroup.Name)]
public sealed class LockStateMachineTests : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(300);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public async Task Removing_the_key_file_locks_within_one_interval_and_restoring_it_unlocks_with_all_data()
    {
        var changes = new ConcurrentQueue<StoreStateChange>();
        using EncryptedStore store = _dir.Open(o => o.CmekCheckInterval = s_interval);
        store.StateChanged += (_, c) => changes.Enqueue(c);
        StoreNamespace ns = store.GetNamespace("data");

        // Writers run while the key is revoked; every acknowledged write must survive.
        var acknowledged = new ConcurrentDictionary<string, string>();
        int lockedErrors = 0;
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    ns.Put($"k{i:D6}", $"v{i}");
                    acknowledged[$"k{i:D6}"] = $"v{i}";
                }
                catch (StoreLockedException)
                {
                    Interlocked.Increment(ref lockedErrors);
                    Thread.Sleep(5);
                }
            }
        });
        WaitFor(() => acknowledged.Count > 200, TimeSpan.FromSeconds(10), "writes before revocation");
        IReadOnlyList<SecretKey> keys = store.Run(s => s.KeyHandles);
        Assert.All(keys, k => Assert.False(k.IsZeroed));

        string aside = _dir.KeyPath + ".aside";
        File.Move(_dir.KeyPath, aside);
        var revokedAt = Stopwatch.StartNew();
        WaitFor(() => store.State == StoreState.Locked, s_interval + TimeSpan.FromSeconds(1), "lock after the key file was removed");
        Assert.True(revokedAt.Elapsed <= s_interval + TimeSpan.FromSeconds(1), $"locked after {revokedAt.Elapsed}");

        var locked = Assert.Throws<StoreLockedException>(() => ns.Get("k000001"));
        Assert.Contains("CMEK revoked", locked.Reason, StringComparison.Ordinal);
        Assert.Contains(_dir.KeyPath, locked.Message, StringComparison.Ordinal);
        Assert.All(keys, k => Assert.True(k.IsZeroed, $"{k} not zeroed after lock"));
        Assert.Equal(0UL, store.LastClosedSessionStats!.Value.LiveDeks);
        Assert.Throws<StoreLockedException>(() => store.GetNamespace("other"));
        WaitFor(() => Volatile.Read(ref lockedErrors) > 0, TimeSpan.FromSeconds(5), "a writer to see StoreLockedException");

        File.Move(aside, _dir.KeyPath);
        WaitFor(() => store.State == StoreState.Open, s_interval + TimeSpan.FromSeconds(2), "unlock after the key file came back");
        stop.Cancel();
        await writer;

        foreach ((string k, string v) in acknowledged)
        {
            Assert.Equal(v, ns.Get(k));
        }
        Assert.Equal(
            [StoreState.Locked, StoreState.Open],
            changes.Select(c => c.NewState).ToArray());
    }

    [Fact]
    public void Replacing_the_key_file_with_another_key_locks_the_store()
    {
        using EncryptedStore store = _dir.Open(o => o.CmekCheckInterval = s_interval);
        store.GetNamespace("n").Put("k", "v");
        File.Delete(_dir.KeyPath);
        LocalKeyFileCmek.Create(_dir.KeyPath).Dispose();
        WaitFor(() => store.State == StoreState.Locked, s_interval + TimeSpan.FromSeconds(1), "lock after key replacement");
        Assert.Contains("different key", store.LockReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Transient_failures_degrade_then_lock_after_the_key_cache_ttl_then_recover()
    {
        var cmek = new TestCmek(LocalKeyFileCmek.Open(_dir.KeyPath));
        var changes = new ConcurrentQueue<StoreStateChange>();
        using (cmek)
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = _dir.StorePath,
            Cmek = cmek,
            CmekCheckInterval = s_interval,
            KeyCacheTtl = TimeSpan.FromSeconds(2),
        }))
        {
            store.StateChanged += (_, c) => changes.Enqueue(c);
            StoreNamespace ns = store.GetNamespace("n");
            ns.Put("before", "1");

            cmek.MakeTransient();
            WaitFor(() => store.State == StoreState.Degraded, s_interval + TimeSpan.FromSeconds(1), "degraded");
            ns.Put("while-degraded", "2"); // still serving from cached keys
            Assert.Equal("1", ns.Get("before"));

            WaitFor(() => store.State == StoreState.Locked, TimeSpan.FromSeconds(5), "lock after the TTL");
            Assert.Contains("key cache TTL", store.LockReason, StringComparison.Ordinal);
            Assert.Throws<StoreLockedException>(() => ns.Get("before"));

            cmek.Restore();
            WaitFor(() => store.State == StoreState.Open, TimeSpan.FromSeconds(5), "recovery");
            Assert.Equal("1", ns.Get("before"));
            Assert.Equal("2", ns.Get("while-degraded"));
        }
        Assert.Equal(
            [StoreState.Degraded, StoreState.Locked, StoreState.Open, StoreState.Closed],
            changes.Select(c => c.NewState).ToArray());
    }

    [Fact]
    public void A_hanging_cmek_degrades_after_one_interval_and_locks_at_the_ttl_without_waiting_for_the_check_timeout()
    {
        var cmek = new TestCmek(LocalKeyFileCmek.Open(_dir.KeyPath));
        using (cmek)
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = _dir.StorePath,
            Cmek = cmek,
            CmekCheckInterval = s_interval,
            KeyCacheTtl = TimeSpan.FromSeconds(2),
            CmekCheckTimeout = TimeSpan.FromMinutes(5),
        }))
        {
            StoreNamespace ns = store.GetNamespace("n");
            ns.Put("k", "v");
            cmek.Hang();
            var sw = Stopwatch.StartNew();
            WaitFor(() => store.State == StoreState.Degraded, (s_interval * 2) + TimeSpan.FromSeconds(1), "degraded while the check hangs");
            Assert.Equal("v", ns.Get("k"));
            // The check itself would time out only after 5 minutes: locking at the 2 s TTL (with slack
            // for a loaded machine) shows the store does not wait for it.
            WaitFor(() => store.State == StoreState.Locked, TimeSpan.FromSeconds(15), "lock at the TTL");
            Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(2) - s_interval, $"locked before the TTL, after {sw.Elapsed}");
            Assert.Contains("key cache TTL", store.LockReason, StringComparison.Ordinal);
            Assert.Contains("2 s", store.LockReason, StringComparison.Ordinal);

            cmek.Restore();
            store.Unlock();
            Assert.Equal("v", ns.Get("k"));
        }
    }

    [Fact]
    public void Explicit_unlock_mode_waits_for_unlock_and_refuses_while_still_revoked()
    {
        var cmek = new TestCmek(LocalKeyFileCmek.Open(_dir.KeyPath));
        using (cmek)
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = _dir.StorePath,
            Cmek = cmek,
            CmekCheckInterval = s_interval,
            AutoUnlock = false,
        }))
        {
            StoreNamespace ns = store.GetNamespace("n");
            ns.Put("k", "v", sync: true);
            cmek.Revoke();
            WaitFor(() => store.State == StoreState.Locked, s_interval + TimeSpan.FromSeconds(1), "lock");
            Assert.Throws<KeyUnavailableException>(store.Unlock);
            cmek.Restore();
            Thread.Sleep(s_interval * 3);
            Assert.Equal(StoreState.Locked, store.State); // no automatic unlock
            store.Unlock();
            Assert.Equal(StoreState.Open, store.State);
            Assert.Equal("v", ns.Get("k"));
        }
    }

    [Fact]
    public void Open_with_a_revoked_key_fails_fast_with_key_unavailable()
    {
        _dir.Open().Dispose();
        var cmek = new TestCmek(LocalKeyFileCmek.Open(_dir.KeyPath));
        cmek.Revoke();
        using (cmek)
        {
            var sw = Stopwatch.StartNew();
            var ex = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = _dir.StorePath, Cmek = cmek }));
            Assert.Equal(CmekFailureKind.Revoked, ex.FailureKind);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
        }
    }
}
