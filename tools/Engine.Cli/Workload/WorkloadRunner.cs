using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Engine.Cli.Workload;

/// <summary>What <c>engine workload</c> was asked to do.</summary>
/// <param name="Seconds">Length of the load phase.</param>
/// <param name="Threads">Worker threads.</param>
/// <param name="Namespace">Namespace written (created if missing).</param>
/// <param name="MaxKeys">Distinct keys across all workers; beyond it puts only overwrite, which bounds memory and verification time.</param>
/// <param name="UnlockWait">How long to wait for a locked store to unlock before verifying (and while verifying).</param>
/// <param name="Rate">Calls per second across all threads, or 0 for as fast as possible.</param>
internal sealed record WorkloadSettings(int Seconds, int Threads, string Namespace, int MaxKeys, TimeSpan UnlockWait, int Rate);

/// <summary>Everything the summary line reports.</summary>
internal sealed record WorkloadOutcome(
    VerifyTally Verification,
    IReadOnlyList<Transition> Transitions,
    double LockedSeconds,
    double LoadSeconds,
    StoreState FinalState,
    long AckedWrites,
    long ReadMissing,
    long ReadWrong,
    long Ops,
    long Errors,
    long LockedErrors,
    string? FirstError,
    bool Interrupted,
    string Result,
    int ExitCode);

/// <summary>
/// Runs the workload: load for the given seconds (or until Ctrl-C), wait for a locked store to
/// unlock, read back every acknowledged write, print the summary, and return the exit code.
/// </summary>
internal static class WorkloadRunner
{
    private static readonly TimeSpan UnlockPoll = TimeSpan.FromMilliseconds(20);

    public static int Run(EncryptedStore store, WorkloadSettings settings, CancellationToken interrupt)
    {
        StoreNamespace ns = store.GetNamespace(settings.Namespace);
        // A fresh prefix per run: keys left by an earlier run are never mistaken for this run's writes.
        string runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        int keysPerWorker = Math.Max(1, settings.MaxKeys / settings.Threads);
        WorkloadWorker[] workers = [.. Enumerable.Range(0, settings.Threads).Select(i =>
            new WorkloadWorker(ns, string.Create(CultureInfo.InvariantCulture, $"wl-{runId}-w{i:D3}"), keysPerWorker,
                (double)settings.Rate / settings.Threads, seed: RandomNumberGenerator.GetInt32(int.MaxValue)))];

        long start = Stopwatch.GetTimestamp();
        var timeline = new StateTimeline(store.State, DateTimeOffset.UtcNow);
        store.StateChanged += timeline.OnStateChanged;
        try
        {
            using var reporter = new SecondReporter(store, workers, start);
            using (var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(interrupt))
            {
                stopLoad.CancelAfter(TimeSpan.FromSeconds(settings.Seconds));
                RunOnThreads(workers.Length, "load", i => workers[i].Run(stopLoad.Token));
            }
            double loadSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

            // Reading back through a locked store would only count refusals: wait (bounded) for the unlock first.
            bool unlocked = true;
            if (store.State == StoreState.Locked)
            {
                reporter.Phase = "wait";
                unlocked = WaitUntilUnlocked(store, settings.UnlockWait);
            }
            reporter.Phase = "verify";
            var tally = new VerifyTally();
            var perWorker = new VerifyTally[workers.Length];
            Func<bool> waiter = unlocked ? () => WaitUntilUnlocked(store, settings.UnlockWait) : () => false;
            RunOnThreads(workers.Length, "verify", i => perWorker[i] = workers[i].Verify(waiter));
            foreach (VerifyTally part in perWorker)
            {
                tally.Add(part);
            }
            reporter.Stop();

            WorkloadOutcome outcome = Conclude(store, workers, timeline, tally, loadSeconds, settings.UnlockWait, interrupt.IsCancellationRequested);
            Console.WriteLine(WorkloadJson.Summary(outcome));
            if (outcome.ExitCode != ExitCodes.Ok)
            {
                ErrorReporter.Fail("workload: " + outcome.Result);
            }
            return outcome.ExitCode;
        }
        finally
        {
            store.StateChanged -= timeline.OnStateChanged;
        }
    }

    /// <summary>True once the store is not locked; false when <paramref name="limit"/> passes first.</summary>
    private static bool WaitUntilUnlocked(EncryptedStore store, TimeSpan limit)
    {
        long since = Stopwatch.GetTimestamp();
        while (store.State == StoreState.Locked)
        {
            if (Stopwatch.GetElapsedTime(since) >= limit)
            {
                return false;
            }
            Thread.Sleep(UnlockPoll);
        }
        return store.State != StoreState.Closed;
    }

    /// <summary>
    /// Runs <paramref name="body"/>(0..count-1) on threads of their own and waits for all of them.
    /// Dedicated threads, not the pool: every call blocks in RocksDB, and the pool would ramp up slowly.
    /// </summary>
    private static void RunOnThreads(int count, string phase, Action<int> body)
    {
        Thread[] threads = [.. Enumerable.Range(0, count).Select(i => new Thread(() => body(i)) { IsBackground = true, Name = $"workload {phase} {i}" })];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
    }

    private static WorkloadOutcome Conclude(
        EncryptedStore store, WorkloadWorker[] workers, StateTimeline timeline, VerifyTally v, double loadSeconds, TimeSpan unlockWait, bool interrupted)
    {
        long readMissing = workers.Sum(w => w.ReadMissing);
        long readWrong = workers.Sum(w => w.ReadWrong);
        (string result, int code) = (v, readMissing, readWrong) switch
        {
            _ when v.Wrong > 0 || readWrong > 0 =>
                ($"wrong data: {v.Wrong} of {v.Acknowledged} keys read back a value never written to them ({readWrong} during the load); {v.FirstProblem}", ExitCodes.Integrity),
            _ when v.IntegrityFailures > 0 =>
                ($"integrity failure: {v.IntegrityFailures} keys failed authentication; {v.FirstProblem}", ExitCodes.Integrity),
            _ when v.Missing > 0 || readMissing > 0 =>
                ($"lost writes: {v.Missing} of {v.Acknowledged} acknowledged keys missing or older than acknowledged ({readMissing} during the load); {v.FirstProblem}", ExitCodes.WorkloadLostWrites),
            _ when v.GaveUp =>
                ($"the store stayed Locked for {Commands.Durations.Format(unlockWait)} after the load ({store.LockReason ?? "no reason given"}); {v.Unchecked} of {v.Acknowledged} acknowledged keys not verified", ExitCodes.KeyUnavailable),
            _ when v.Unreadable > 0 =>
                ($"unreadable: {v.Unreadable} keys could not be read back; {v.FirstProblem}", ExitCodes.IoError),
            _ => ($"ok: all {v.Verified} acknowledged keys read back intact", ExitCodes.Ok),
        };
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return new WorkloadOutcome(
            v,
            timeline.Snapshot(),
            timeline.LockedSeconds(now),
            loadSeconds,
            store.State,
            workers.Sum(w => w.AckedWrites),
            readMissing,
            readWrong,
            workers.Sum(w => w.Ops),
            workers.Sum(w => w.Errors),
            workers.Sum(w => w.LockedErrors),
            workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
            interrupted,
            result,
            code);
    }
}
