using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Tests.Support;

namespace Engine.Tests.Locking;

/// <summary>
/// A CMEK check that blocks synchronously (the key file replaced by a FIFO: what a hung network mount
/// does) degrades the store after one check interval and locks it when the key cache TTL has passed
/// since the last successful check; closing the store does not wait for the check; and a starved
/// thread pool delays neither the revocation lock nor the TTL lock.
/// </summary>
[Collection(LockTimingGroup.Name)]
public sealed class HangingCheckTests : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan s_ttl = TimeSpan.FromSeconds(2);
    // The same slack as the other lock tests: one second for a loaded 2-core machine.
    private static readonly TimeSpan s_slack = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_disposeBound = TimeSpan.FromSeconds(2);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < timeout, $"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            Thread.Sleep(10);
        }
    }

    private EncryptedStore OpenWithShortChecks() => _dir.Open(o =>
    {
        o.CmekCheckInterval = s_interval;
        o.KeyCacheTtl = s_ttl;
        // Far beyond the TTL: the lock must come from the watchdog, not from the check giving up.
        o.CmekCheckTimeout = TimeSpan.FromMinutes(5);
    });

    /// <summary>Records every transition with the monotonic time it was seen, relative to <paramref name="clock"/>.</summary>
    private static ConcurrentQueue<(StoreStateChange Change, TimeSpan At)> Record(EncryptedStore store, Stopwatch clock)
    {
        var changes = new ConcurrentQueue<(StoreStateChange, TimeSpan)>();
        store.StateChanged += (_, c) => changes.Enqueue((c, clock.Elapsed));
        return changes;
    }

    private static TimeSpan FirstAt(ConcurrentQueue<(StoreStateChange Change, TimeSpan At)> changes, StoreState state) =>
        changes.First(c => c.Change.NewState == state).At;

    [Fact]
    public void A_key_file_that_hangs_degrades_after_one_interval_locks_at_the_ttl_and_does_not_hold_up_dispose()
    {
        EncryptedStore store = OpenWithShortChecks();
        HangingKeyFile? fifo = null;
        try
        {
            StoreNamespace ns = store.GetNamespace("n");
            ns.Put("k", "v", sync: true);
            WaitFor(() => store.CmekCheckCount >= 1, s_interval + s_slack, "a first successful check");

            var clock = Stopwatch.StartNew();
            var changes = Record(store, clock);
            fifo = new HangingKeyFile(_dir.KeyPath);
            clock.Restart(); // the key file hangs from here

            // The check that hangs starts within one interval, and degrades the store one interval later.
            WaitFor(() => !changes.IsEmpty, (s_interval * 2) + s_slack, "Degraded while the check hangs");
            StoreStateChange degraded = changes.First().Change;
            Assert.Equal(StoreState.Degraded, degraded.NewState);
            Assert.Contains("has not answered a check", degraded.Reason, StringComparison.Ordinal);
            Assert.Equal("v", ns.Get("k")); // serving from cached keys

            WaitFor(() => store.State == StoreState.Locked, s_ttl + s_slack, "Locked at the key cache TTL");
            StoreStateChange locked = changes.Single(c => c.Change.NewState == StoreState.Locked).Change;
            TimeSpan sinceHealthy = locked.Time - store.LastHealthyCmekCheck;
            Assert.True(sinceHealthy >= s_ttl, $"locked {sinceHealthy.TotalMilliseconds:0} ms after the last successful check, before the {s_ttl.TotalSeconds} s TTL");
            Assert.Contains("key cache TTL", store.LockReason, StringComparison.Ordinal);
            Assert.Contains("still waiting for an answer", store.LockReason, StringComparison.Ordinal);
            Assert.Throws<StoreLockedException>(() => ns.Get("k"));
            TimeSpan degradedAt = FirstAt(changes, StoreState.Degraded);
            TimeSpan lockedAt = FirstAt(changes, StoreState.Locked);

            // The check still hangs (5-minute timeout, nobody writes the FIFO): closing must not wait for it.
            var disposing = Stopwatch.StartNew();
            store.Dispose();
            TimeSpan disposeTook = disposing.Elapsed;
            Assert.True(disposeTook < s_disposeBound, $"Dispose took {disposeTook.TotalMilliseconds:0} ms with a check hanging");
            Assert.Equal(StoreState.Closed, store.State);
            Console.WriteLine($"FIFO key file: Degraded after {degradedAt.TotalMilliseconds:0} ms, Locked after {lockedAt.TotalMilliseconds:0} ms " +
                $"({sinceHealthy.TotalMilliseconds:0} ms after the last successful check; TTL {s_ttl.TotalMilliseconds:0} ms), Dispose {disposeTook.TotalMilliseconds:0} ms");
        }
        finally
        {
            store.Dispose();
            fifo?.Dispose();
        }

        Assert.NotNull(fifo);
        Assert.True(fifo.ReleasedReaders >= 1, "no check was blocked on the FIFO: the test did not hang a check");
        // Everything acknowledged is still there, and the abandoned check left the store closable and reopenable.
        using EncryptedStore reopened = _dir.Open();
        Assert.Equal("v", reopened.GetNamespace("n").Get("k"));
    }

    [Fact]
    public void A_starved_thread_pool_does_not_delay_the_lock_of_a_hanging_check()
    {
        using EncryptedStore store = OpenWithShortChecks();
        store.GetNamespace("n").Put("k", "v", sync: true);
        var clock = new Stopwatch();
        var changes = Record(store, clock);
        HangingKeyFile? fifo = null;
        try
        {
            WithStarvedThreadPool(() =>
            {
                fifo = new HangingKeyFile(_dir.KeyPath);
                clock.Start();
                WaitFor(() => store.State == StoreState.Locked, s_ttl + s_slack, "Locked at the key cache TTL with the thread pool starved");
            });
        }
        finally
        {
            fifo?.Dispose();
        }
        Assert.True(FirstAt(changes, StoreState.Degraded) <= (s_interval * 2) + s_slack, "Degraded late");
        Assert.True(store.LockReason!.Contains("key cache TTL", StringComparison.Ordinal), store.LockReason);
    }

    [Fact]
    public void A_starved_thread_pool_does_not_delay_the_lock_of_a_revoked_key()
    {
        using EncryptedStore store = _dir.Open(o => o.CmekCheckInterval = s_interval);
        store.GetNamespace("n").Put("k", "v", sync: true);
        string aside = _dir.KeyPath + ".aside";
        WithStarvedThreadPool(() =>
        {
            File.Move(_dir.KeyPath, aside);
            WaitFor(() => store.State == StoreState.Locked, s_interval + s_slack, "Locked within one interval with the thread pool starved");
        });
        Assert.Contains("CMEK revoked", store.LockReason, StringComparison.Ordinal);
        File.Move(aside, _dir.KeyPath);
        WaitFor(() => store.State == StoreState.Open, s_interval + TimeSpan.FromSeconds(2), "unlock after the key file came back");
        Assert.Equal("v", store.GetNamespace("n").Get("k"));
    }

    /// <summary>
    /// Runs <paramref name="body"/> while every thread-pool worker is blocked and the pool may not add
    /// any: a work item queued now would not run until the body returns. Restores the pool after.
    /// </summary>
    private static void WithStarvedThreadPool(Action body)
    {
        ThreadPool.GetMinThreads(out int minWorkers, out int minIo);
        ThreadPool.GetMaxThreads(out int maxWorkers, out int maxIo);
        int cap = Math.Max(minWorkers, Environment.ProcessorCount);
        Assert.True(ThreadPool.SetMaxThreads(cap, maxIo), "could not cap the thread pool");
        // More blockers than workers, so the proof item below queues behind blocked ones.
        int blockers = cap + 16;
        var release = new ManualResetEventSlim(false);
        int blocked = 0;
        int left = 0;
        int proofRan = 0;
        try
        {
            for (int i = 0; i < blockers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    Interlocked.Increment(ref blocked);
                    release.Wait();
                    Interlocked.Increment(ref left);
                }, null);
            }
            // Every worker the pool may run is busy (some may be the test framework's) once blockers wait in its queue.
            WaitFor(() => ThreadPool.PendingWorkItemCount > 0, TimeSpan.FromSeconds(10),
                $"the pool's workers to block (cap {cap}, min {minWorkers}, max {maxWorkers}; now {ThreadPool.ThreadCount} threads, {Volatile.Read(ref blocked)} blocked, {ThreadPool.PendingWorkItemCount} waiting)");

            // Proof of starvation: a work item queued now does not run while the body runs.
            ThreadPool.UnsafeQueueUserWorkItem(_ => Interlocked.Exchange(ref proofRan, 1), null);
            body();
            Console.WriteLine($"thread pool starved: {ThreadPool.ThreadCount} threads, {Volatile.Read(ref blocked)} blocked, {ThreadPool.PendingWorkItemCount} items waiting");
            Assert.True(Volatile.Read(ref proofRan) == 0, "the thread pool was not starved: a queued work item ran meanwhile");
        }
        finally
        {
            release.Set();
            ThreadPool.SetMaxThreads(maxWorkers, maxIo);
            WaitFor(() => Volatile.Read(ref left) == blockers, TimeSpan.FromSeconds(30), "the blocked work items to leave");
            release.Dispose();
        }
    }
}
