using System.Diagnostics;
using System.Globalization;
using System.Text;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Fault injection: a child process writes with <c>sync=true</c> (single puts, deletes, batches across
/// namespaces, flushes and compactions) and is killed with SIGKILL at random moments; after every kill
/// the store is reopened in this process and must hold exactly the state of the acknowledged prefix of
/// the workload (or that prefix plus the one operation in flight), every value must verify, and
/// <see cref="EncryptedStore.Verify()"/> must pass (torn tails of WAL/MANIFEST/LOG allowed).
/// </summary>
/// <remarks>
/// <c>ENGINE_CRASH_CYCLES=N</c> runs N kill cycles (default 50); <c>ENGINE_CRASH_SEED=S</c> replays a run
/// (the kill moments are timing-dependent, the workload and the kill plan are not).
/// </remarks>
public sealed class CrashCampaignTests(ITestOutputHelper output)
{
    private enum KillPlan
    {
        DuringOpen,
        RightAfterOpen,
        DuringFlushOrCompaction,
        RandomDelay,
    }

    private sealed record CycleResult(KillPlan Plan, long Acked, bool InFlightApplied, long TornTails, bool ChildReachedOpen);

    [Fact]
    public void Acknowledged_synced_writes_survive_sigkill_at_random_points()
    {
        int cycles = CampaignSettings.Count("ENGINE_CRASH_CYCLES", 50);
        int seed = CampaignSettings.Seed("ENGINE_CRASH_SEED");
        output.WriteLine($"crash campaign: seed {seed} (replay with ENGINE_CRASH_SEED={seed}), {cycles} cycles");

        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = dir.Open())
        {
            foreach (string ns in CrashWorkload.Namespaces)
            {
                store.GetNamespace(ns);
            }
        }

        var model = new CrashModel();
        long next = 1;
        var rng = new Random(seed);
        var results = new List<CycleResult>();
        var clock = Stopwatch.StartNew();
        double openMs = 60; // running estimate of how long the child's EncryptedStore.Open takes, for DuringOpen kills
        for (int cycle = 0; cycle < cycles; cycle++)
        {
            KillPlan plan = rng.Next(100) switch
            {
                < 12 => KillPlan.DuringOpen,
                < 27 => KillPlan.RightAfterOpen,
                < 47 => KillPlan.DuringFlushOrCompaction,
                _ => KillPlan.RandomDelay,
            };
            int delayMs = plan switch
            {
                KillPlan.DuringOpen => -1, // drawn once the child announces the open
                KillPlan.RightAfterOpen => rng.Next(3),
                KillPlan.DuringFlushOrCompaction => rng.Next(12),
                _ => rng.Next(4) == 0 ? rng.Next(10) : rng.Next(20, 300),
            };
            string where = $"seed {seed}, cycle {cycle}, plan {plan}, delay {delayMs} ms, first op {next}";

            using var child = CrashWriterChild.Start(dir.StorePath, dir.CmekUri, seed, next);
            bool reachedOpen = false;
            Assert.True(child.WaitForLine(l => l == "O", TimeSpan.FromSeconds(60)) is not null, $"{where}: the child did not start. stderr:\n{child.Stderr}");
            var opening = Stopwatch.StartNew();
            if (plan == KillPlan.DuringOpen)
            {
                // Anywhere inside EncryptedStore.Open: registry, WAL replay, recovery flush, new MANIFEST.
                delayMs = rng.Next((int)Math.Ceiling(openMs * 1.2) + 1);
                where = where.Replace("delay -1 ms", $"delay {delayMs} ms", StringComparison.Ordinal);
                Thread.Sleep(delayMs);
            }
            else
            {
                reachedOpen = child.WaitForLine(l => l.StartsWith("R ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)) is not null;
                Assert.True(reachedOpen, $"{where}: the child never opened the store. stderr:\n{child.Stderr}");
                openMs = (openMs * 3 + opening.Elapsed.TotalMilliseconds) / 4;
                if (plan == KillPlan.DuringFlushOrCompaction)
                {
                    child.WaitForLine(l => l.StartsWith("F ", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
                }
                if (delayMs > 0)
                {
                    Thread.Sleep(delayMs);
                }
            }
            if (child.HasExited)
            {
                child.WaitForExit(TimeSpan.FromSeconds(10));
                Assert.Fail($"{where}: the child exited by itself (code {child.RawExitCode}). stderr:\n{child.Stderr}");
            }
            child.Kill();
            Assert.True(child.ExitCodeOrSignal is null, $"{where}: the child ended with exit code {child.RawExitCode} instead of being killed. stderr:\n{child.Stderr}");

            IReadOnlyList<string> lines = child.AllLines;
            reachedOpen |= lines.Any(l => l.StartsWith("R ", StringComparison.Ordinal));
            long acked = next - 1;
            foreach (string line in lines.Where(l => l.StartsWith("A ", StringComparison.Ordinal)))
            {
                long s = long.Parse(line.AsSpan(2), CultureInfo.InvariantCulture);
                Assert.True(s == acked + 1, $"{where}: acknowledgements out of order ({s} after {acked})");
                acked = s;
            }

            // Apply what was acknowledged; the next operation may or may not have reached the log.
            for (long s = next; s <= acked; s++)
            {
                model.Apply(CrashWorkload.OpAt(seed, s));
            }
            CrashOp? inFlight = reachedOpen ? CrashWorkload.OpAt(seed, acked + 1) : null;

            bool applied;
            long torn;
            try
            {
                (applied, torn) = CheckRecovered(dir, model, inFlight, where + $", acknowledged through op {acked}");
            }
            catch (Exception ex)
            {
                string kept = CampaignLog.Preserve(dir.StorePath, dir.KeyPath, $"crash-{seed}-{cycle}");
                output.WriteLine($"{where}: failed; the store is kept at {kept}");
                if (ex is EngineException)
                {
                    throw new Xunit.Sdk.XunitException($"{where}, acknowledged through op {acked}: {ex.GetType().Name}: {ex.Message} (store kept at {kept})");
                }
                throw;
            }
            if (applied)
            {
                model.Apply(inFlight!);
                acked++;
            }
            results.Add(new CycleResult(plan, acked - next + 1, applied && inFlight!.IsWrite, torn, reachedOpen));
            next = acked + 1;
        }

        Report(seed, results, clock.Elapsed, next - 1);

        // Control: a torn write at the end of the live WAL (what a kill inside a frame's pwrite leaves;
        // the random kills rarely land there) must be recovered as a torn tail, counted, with every
        // acknowledged write present. This also shows that the torn-tail column above can count.
        {
            using var child = CrashWriterChild.Start(dir.StorePath, dir.CmekUri, seed, next);
            Assert.True(child.WaitForLine(l => l.StartsWith("A ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)) is not null, $"control: no write acknowledged. stderr:\n{child.Stderr}");
            child.Kill();
            long acked = child.AllLines.Where(l => l.StartsWith("A ", StringComparison.Ordinal)).Select(l => long.Parse(l.AsSpan(2), CultureInfo.InvariantCulture)).Max();
            for (long s = next; s <= acked; s++)
            {
                model.Apply(CrashWorkload.OpAt(seed, s));
            }
            string wal = Directory.EnumerateFiles(dir.StorePath, "*.log").OrderBy(f => f, StringComparer.Ordinal).Last();
            using (FileStream fs = new(wal, FileMode.Append))
            {
                fs.Write(new byte[] { 0x17, 0, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0xEF }); // part of a frame header
            }
            (bool applied, long torn) = CheckRecovered(dir, model, CrashWorkload.OpAt(seed, acked + 1), $"seed {seed}, control cycle, acknowledged through op {acked}");
            Assert.True(torn > 0, $"seed {seed}, control cycle: 11 stray bytes after the last frame of {Path.GetFileName(wal)} were not counted as a torn tail");
            output.WriteLine($"control: torn WAL tail recovered ({torn} torn tail(s) counted, in-flight op {(applied ? "present" : "absent")})");
        }
    }

    /// <summary>Reopens the store, compares it with the model, verifies it; true when the in-flight operation is there.</summary>
    private static (bool InFlightApplied, long TornTails) CheckRecovered(TestStoreDirectory dir, CrashModel model, CrashOp? inFlight, string where)
    {
        using EncryptedStore store = dir.Open(o => o.CreateIfMissing = false);
        var actual = new Dictionary<string, byte[]>[CrashWorkload.Namespaces.Length];
        var problems = new List<string>();
        for (int n = 0; n < actual.Length; n++)
        {
            Assert.True(store.TryGetNamespace(CrashWorkload.Namespaces[n], out StoreNamespace? ns), $"{where}: namespace {CrashWorkload.Namespaces[n]} is gone");
            actual[n] = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (KeyValuePair<byte[], byte[]> kv in ns!.Scan())
            {
                string key = Encoding.ASCII.GetString(kv.Key);
                actual[n][key] = kv.Value;
                if (CrashWorkload.ParseValue(n, kv.Key, kv.Value, out string problem) is null)
                {
                    problems.Add($"{CrashWorkload.Namespaces[n]}/{key}: garbled value ({problem})");
                }
            }
            // Point reads must agree with the scan for every key of the key space.
            for (int i = 0; i < CrashWorkload.KeysPerNamespace; i++)
            {
                byte[] key = CrashWorkload.Key(i);
                byte[]? got = ns.Get(key);
                actual[n].TryGetValue(Encoding.ASCII.GetString(key), out byte[]? scanned);
                if (!(got is null ? scanned is null : scanned is not null && got.AsSpan().SequenceEqual(scanned)))
                {
                    problems.Add($"{CrashWorkload.Namespaces[n]}/{Encoding.ASCII.GetString(key)}: Get and Scan disagree");
                }
            }
        }
        Assert.True(problems.Count == 0, $"{where}: {string.Join("; ", problems)}");

        bool inFlightApplied;
        if (model.Matches(actual))
        {
            inFlightApplied = false;
        }
        else if (inFlight is not null && inFlight.IsWrite && model.With(inFlight).Matches(actual))
        {
            inFlightApplied = true;
        }
        else
        {
            Assert.Fail($"{where}: the recovered store is neither the acknowledged state nor that state plus the in-flight operation "
                + $"({(inFlight is null ? "none" : inFlight.Kind + " " + inFlight.Seq)}): {model.Describe(actual)}");
            return default;
        }

        StoreQuiescence.WaitForBackgroundWork(store);
        VerifyReport report = store.Verify();
        foreach (VerifiedFile f in report.Files.Where(f => f.TornTail))
        {
            Assert.False(f.Path.EndsWith(".sst", StringComparison.Ordinal), $"{where}: Verify reported a torn tail on a closed SST {f.Path}");
        }
        // Torn tails met while recovering (the WAL RocksDB replayed is gone by now) plus any Verify still sees.
        return (inFlightApplied, PluginCounters.TornTails(store) + report.Files.Count(f => f.TornTail));
    }

    private void Report(int seed, List<CycleResult> results, TimeSpan elapsed, long totalOps)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"crash campaign seed {seed}: {results.Count} SIGKILL cycles in {elapsed.TotalSeconds:F1} s, {totalOps} workload operations acknowledged or recovered");
        sb.AppendLine("plan                     cycles  reached-open  ops-acked  in-flight-op-recovered  recoveries-with-torn-tail");
        foreach (IGrouping<KillPlan, CycleResult> g in results.GroupBy(r => r.Plan).OrderBy(g => g.Key))
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{g.Key,-24} {g.Count(),6}  {g.Count(r => r.ChildReachedOpen),12}  {g.Sum(r => r.Acked),9}  {g.Count(r => r.InFlightApplied),22}  {g.Count(r => r.TornTails > 0),25}");
        }
        output.WriteLine(sb.ToString());
        CampaignLog.Write("crash", sb.ToString());
    }
}

/// <summary>The expected logical state: per namespace, key → value.</summary>
internal sealed class CrashModel
{
    private readonly Dictionary<string, byte[]>[] _ns;

    public CrashModel() : this(CrashWorkload.Namespaces.Select(_ => new Dictionary<string, byte[]>(StringComparer.Ordinal)).ToArray())
    {
    }

    private CrashModel(Dictionary<string, byte[]>[] ns) => _ns = ns;

    public void Apply(CrashOp op)
    {
        foreach (CrashEntry e in op.Entries)
        {
            string key = Encoding.ASCII.GetString(e.Key);
            if (e.Value is null)
            {
                _ns[e.Ns].Remove(key);
            }
            else
            {
                _ns[e.Ns][key] = e.Value;
            }
        }
    }

    public CrashModel With(CrashOp op)
    {
        var copy = new CrashModel(_ns.Select(d => new Dictionary<string, byte[]>(d, StringComparer.Ordinal)).ToArray());
        copy.Apply(op);
        return copy;
    }

    public bool Matches(Dictionary<string, byte[]>[] actual) =>
        _ns.Zip(actual).All(p => p.First.Count == p.Second.Count
            && p.First.All(kv => p.Second.TryGetValue(kv.Key, out byte[]? v) && v.AsSpan().SequenceEqual(kv.Value)));

    /// <summary>What differs from <paramref name="actual"/>, per key (first 20 differences).</summary>
    public string Describe(Dictionary<string, byte[]>[] actual)
    {
        var diffs = new List<string>();
        for (int n = 0; n < _ns.Length; n++)
        {
            foreach (string key in _ns[n].Keys.Union(actual[n].Keys).Order(StringComparer.Ordinal))
            {
                _ns[n].TryGetValue(key, out byte[]? want);
                actual[n].TryGetValue(key, out byte[]? got);
                if (want is not null && got is not null && want.AsSpan().SequenceEqual(got))
                {
                    continue;
                }
                byte[] k = Encoding.ASCII.GetBytes(key);
                string w = want is null ? "absent" : $"op {CrashWorkload.ParseValue(n, k, want, out _)}";
                string g = got is null ? "absent" : $"op {CrashWorkload.ParseValue(n, k, got, out _)}";
                diffs.Add($"{CrashWorkload.Namespaces[n]}/{key}: expected {w}, found {g}");
            }
        }
        return $"{diffs.Count} key(s) differ: " + string.Join("; ", diffs.Take(20));
    }
}
