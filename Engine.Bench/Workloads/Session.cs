using Engine.Bench.Macro;
using Engine.Bench.Systems;

namespace Engine.Bench.Workloads;

/// <summary>
/// One system's pass through every workload in one round, on fresh directories. The order follows
/// db_bench: fills on empty stores, then on the fillrandom store: flush + full compaction (with
/// write amplification and size on disk), readseq (which warms the block cache), readrandom-warm,
/// seekrandom, a reopen with a tiny cache for readrandom-cold, a reopen with the normal cache for
/// overwrite and the mixed workload.
/// </summary>
internal sealed class Session(IKvSystem system, MacroOptions options, string root, int round, Recorder? recorder, long num)
{
    private readonly long _num = Math.Min(num, system.MaxEntries ?? long.MaxValue);
    private readonly int _seed = options.Seed + round;
    private int _opens;
    private long _lastCalls;
    private long _callsAtOpen;
    private long _workloadOps;
    private long _callsDuringWorkloads;

    /// <param name="num">Overrides the entry count (the untimed warm-up pass uses a small one).</param>
    public static void Run(IKvSystem system, MacroOptions options, string root, int round, Recorder? recorder, long? num = null) =>
        new Session(system, options, root, round, recorder, num ?? options.Num).RunAll();

    private void RunAll()
    {
        var ks = new KeySpace(_num, options.ValueSize, _seed, options.Namespaces);
        long[] order = KeySpace.Permutation(_num, _seed);
        long reads = Math.Min(options.ReadOps, _num);

        if (options.Runs(Catalog.FillSeq))
        {
            WithFreshStore("seq", store => Record(Catalog.FillSeq, Drivers.Fill(store, ks, null, _num)));
        }
        if (options.Runs(Catalog.FillBatch))
        {
            WithFreshStore("batch", store => Record(Catalog.FillBatch, Drivers.FillBatched(store, ks, order, options.BatchSize)));
        }

        string main = Fresh("main");
        ProcIo before = ProcIo.Read();
        using (IKvStore store = Open(main, options.WarmCacheBytes))
        {
            // Every later workload reads the store fillrandom wrote and compacted.
            Record(Catalog.FillRandom, Drivers.Fill(store, ks, order, _num));
            Record(Catalog.FlushCompact, Drivers.FlushAndCompact(store, _num));
            ProcIo written = ProcIo.Read() - before;
            recorder?.Space.Add(new SpaceSample(system.Name, round, _num, _num * ks.EntryBytes, written, DirUsage.Measure(main)));
            RecordIf(Catalog.ReadSeq, () => Drivers.ReadSeq(store, ks));
            RecordIf(Catalog.ReadRandomWarm, () => Drivers.ReadRandom(store, ks, reads, options.Seconds, _seed + 1));
            RecordIf(Catalog.SeekRandom, () => Drivers.SeekRandom(store, ks, reads / 10 + 1, options.Seconds, _seed + 2));
        }
        if (options.Runs(Catalog.ReadRandomCold))
        {
            using IKvStore store = Open(main, options.ColdCacheBytes);
            Record(Catalog.ReadRandomCold, Drivers.ReadRandom(store, ks, reads, options.Seconds, _seed + 3));
        }
        if (options.Runs(Catalog.Overwrite) || options.Runs(Catalog.Mixed))
        {
            using IKvStore store = Open(main, options.WarmCacheBytes);
            RecordIf(Catalog.Overwrite, () => Drivers.Overwrite(store, ks, _num, _seed + 4));
            RecordIf(Catalog.Mixed, () => Drivers.Mixed(store, ks, reads, options.Seconds, _seed + 5, options.Threads));
        }
        Directory.Delete(main, recursive: true);
        recorder?.Kms.Add(new KmsSample(system.Name, round, _opens, _callsAtOpen, _workloadOps, _callsDuringWorkloads));
    }

    private void WithFreshStore(string name, Action<IKvStore> body)
    {
        string dir = Fresh(name);
        using (IKvStore store = Open(dir, options.WarmCacheBytes))
        {
            body(store);
        }
        Directory.Delete(dir, recursive: true);
    }

    private string Fresh(string name)
    {
        string dir = Path.Combine(root, $"r{round}-{system.Name}-{name}");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        return dir;
    }

    private IKvStore Open(string dir, long cacheBytes)
    {
        long before = CmekCalls();
        IKvStore store = system.Open(dir, cacheBytes);
        _opens++;
        _callsAtOpen += CmekCalls() - before;
        _lastCalls = CmekCalls();
        return store;
    }

    private void RecordIf(string workload, Func<Timed> run)
    {
        if (options.Runs(workload))
        {
            Record(workload, run());
        }
    }

    /// <summary>Keeps a sample, and charges CMEK calls since the last open or sample to the workload.</summary>
    private void Record(string workload, Timed result)
    {
        long now = CmekCalls();
        _callsDuringWorkloads += now - _lastCalls;
        _lastCalls = now;
        _workloadOps += result.Ops;
        recorder?.Samples.Add(new Sample(workload, system.Name, round, _num, result));
        if (recorder is not null)
        {
            Console.WriteLine($"  r{round} {system.Name,-9} {workload,-17} {result.OpsPerSec,12:N0} ops/s {result.OpsPerCpuSec,12:N0} ops/CPU-s  ({result.Ops:N0} ops, {result.Seconds:F2} s)");
        }
    }

    private long CmekCalls() => system is EngineSystem engine ? engine.CmekCalls : 0;
}
