using System.Diagnostics;
using System.Globalization;
using Engine.Bench.Reporting;
using Engine.Bench.Systems;
using Engine.Bench.Workloads;

namespace Engine.Bench.Macro;

/// <summary>
/// Runs every system through the same workloads, interleaved: each round runs each system once,
/// and the order rotates from round to round, so a noisy minute hits different systems.
/// </summary>
internal static class MacroRunner
{
    public static int Run(MacroOptions options, string[] rawArgs)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        string outDir = Path.GetFullPath(options.OutDir);
        string dataRoot = Path.GetFullPath(options.DataDir ?? Path.Combine(Path.GetTempPath(), $"ekv-bench-{Environment.ProcessId}"));
        Directory.CreateDirectory(outDir);
        Directory.CreateDirectory(dataRoot);

        // One librocksdb in the process (the system one): the engine's own start-up check.
        string rocksdb = NativeLibraryCheck.EnsureLoaded();
        Console.WriteLine($"librocksdb: {rocksdb}; data under {dataRoot}; results to {outDir}");

        var recorder = new Recorder();
        string loadAtStart = LoadAverage();
        List<IKvSystem> systems = [.. options.Systems.Select(name => Create(name, options, dataRoot))];
        try
        {
            // Untimed pass: JIT, first-touch of native code, LiteDB's engine start-up.
            foreach (IKvSystem system in systems)
            {
                Session.Run(system, options, dataRoot, round: -1, recorder: null, num: Math.Min(options.Num, 20_000));
            }
            CheckSingleRocksDb(recorder);

            for (int round = 0; round < options.Rounds; round++)
            {
                Console.WriteLine($"round {round + 1}/{options.Rounds} ({clock.Elapsed.TotalMinutes:F1} min)");
                for (int i = 0; i < systems.Count; i++)
                {
                    IKvSystem system = systems[(i + round) % systems.Count];
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Session.Run(system, options, dataRoot, round, recorder);
                }
            }
            AddNotes(recorder, systems, options);
            recorder.Notes.Add($"Load average (1/5/15 min) at start {loadAtStart}, at end {LoadAverage()} on {Environment.ProcessorCount} cores: " +
                "a load above the bench's own (about 1-2) means other processes shared the machine; rounds are interleaved and ratios paired either way.");
        }
        finally
        {
            foreach (IKvSystem system in systems)
            {
                system.Dispose();
            }
            Directory.Delete(dataRoot, recursive: true);
        }

        string command = "dotnet run -c Release --project Engine.Bench -- " + string.Join(' ', rawArgs);
        RunReport report = Build(recorder, options, command, started, clock.Elapsed.TotalSeconds);
        WriteAll(report, outDir);
        Console.WriteLine();
        Console.WriteLine(MarkdownReport.ThroughputTable(report));
        Console.WriteLine($"done in {clock.Elapsed.TotalMinutes:F1} min: {Path.Combine(outDir, "results.json")}, results.md, chart.png");
        return 0;
    }

    /// <summary>Re-renders results.md and chart.png from an existing results.json (e.g. after a chart change).</summary>
    public static int Rerender(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : Path.Combine("Engine.Bench", "results");
        RunReport report = JsonReport.Read(Path.Combine(dir, "results.json"));
        MarkdownReport.Write(report, Path.Combine(dir, "results.md"));
        ChartReport.Write(report, Path.Combine(dir, "chart.png"));
        return 0;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join('/', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static IKvSystem Create(string name, MacroOptions options, string dataRoot) => name switch
    {
        "plain" => new PlainRocksDb(),
        "stock-ctr" => new StockCtr(),
        "engine" => new EngineSystem(Path.Combine(dataRoot, "cmek.key"), options.FrameSize),
        "litedb" => new LiteDbSystem(options.LiteDbNum),
        "engine-env" => new EngineEnvRaw(Path.Combine(dataRoot, "cmek-env.key"), options.FrameSize),
        _ => throw new ArgumentException($"Unknown system '{name}' (plain, stock-ctr, engine, litedb, engine-env)."),
    };

    /// <summary>libbenchctr links librocksdb too; make sure the loader reused the one already mapped.</summary>
    private static void CheckSingleRocksDb(Recorder recorder)
    {
        IReadOnlyList<string> mapped = NativeLibraryCheck.MappedRocksDbLibraries();
        if (mapped.Count != 1)
        {
            throw new InvalidOperationException($"Expected one librocksdb in the process, found: {string.Join(", ", mapped)}");
        }
        recorder.Notes.Add($"One librocksdb mapped in the process for all RocksDB systems: {mapped[0]}.");
    }

    private static void AddNotes(Recorder recorder, List<IKvSystem> systems, MacroOptions options)
    {
        foreach (IKvSystem system in systems)
        {
            switch (system)
            {
                case StockCtr ctr:
                    recorder.Notes.Add($"stock-ctr performed {ctr.BlockCalls:N0} AES block operations (one per 16 bytes read or written).");
                    break;
                case EngineSystem engine:
                    NativeCounters s = engine.LastStats;
                    recorder.Notes.Add($"engine (frame size {engine.FrameSize} B), last store: {s.FilesCreated} files created, {s.FilesOpened} opened, " +
                        $"{s.FramesSealed:N0} frames sealed, {s.FramesOpened:N0} frames opened, {s.IntegrityFailures} integrity failures.");
                    break;
                case LiteDbSystem when options.LiteDbNum < options.Num:
                    recorder.Notes.Add($"litedb ran with {options.LiteDbNum:N0} entries (--litedb-num) instead of {options.Num:N0}.");
                    break;
                default:
                    break;
            }
        }
    }

    private static RunReport Build(Recorder recorder, MacroOptions options, string command, DateTimeOffset started, double seconds)
    {
        IReadOnlyList<string> names = options.Systems;
        IReadOnlyList<WorkloadResult> workloads = Aggregate.Workloads(recorder, names);
        IReadOnlyList<SpaceResult> space = Aggregate.Space(recorder, names);
        IReadOnlyList<KmsResult> kms = Aggregate.Kms(recorder, names);
        var settings = new Dictionary<string, string>
        {
            ["num"] = options.Num.ToString(CultureInfo.InvariantCulture),
            ["key_size"] = KeySpace.KeySize.ToString(CultureInfo.InvariantCulture),
            ["value_size"] = options.ValueSize.ToString(CultureInfo.InvariantCulture),
            ["batch"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["reads_max"] = options.ReadOps.ToString(CultureInfo.InvariantCulture),
            ["seconds_per_read_workload_max"] = options.Seconds.ToString(CultureInfo.InvariantCulture),
            ["rounds"] = options.Rounds.ToString(CultureInfo.InvariantCulture),
            ["block_cache_warm_mib"] = (options.WarmCacheBytes >> 20).ToString(CultureInfo.InvariantCulture),
            ["block_cache_cold_mib"] = (options.ColdCacheBytes >> 20).ToString(CultureInfo.InvariantCulture),
            ["frame_size"] = options.FrameSize.ToString(CultureInfo.InvariantCulture),
            ["litedb_num"] = Math.Min(options.LiteDbNum, options.Num).ToString(CultureInfo.InvariantCulture),
            ["wal"] = "on",
            ["sync"] = "off",
            ["compression"] = "RocksDB default (snappy); values ~50% compressible",
        };
        return new RunReport(command, started, seconds, MachineInfo.Collect(), settings, workloads, space, kms,
            Targets.Evaluate(workloads, space, kms), recorder.Notes);
    }

    private static void WriteAll(RunReport report, string outDir)
    {
        JsonReport.Write(report, Path.Combine(outDir, "results.json"));
        MarkdownReport.Write(report, Path.Combine(outDir, "results.md"));
        ChartReport.Write(report, Path.Combine(outDir, "chart.png"));
    }
}
