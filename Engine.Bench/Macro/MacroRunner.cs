using System.Diagnostics;
using System.Globalization;
using Engine.Bench.Reporting;
using Engine.Bench.Systems;
using Engine.Bench.Workloads;

namespace Engine.Bench.Macro;

/// <summary>
/// Runs every system through the same workloads, interleaved: each round runs each system once,
/// and the order alternates from round to round (forward, then reversed, rotated every two rounds),
/// so a noisy minute and each position in the round hit every system alike. By default each
/// system's round runs in its own child process, so its peak RSS is its own.
/// </summary>
internal static class MacroRunner
{
    public static int Run(MacroOptions options, string[] rawArgs)
    {
        if (options.ChildSystem is not null)
        {
            return RunChild(options);
        }
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
        try
        {
            if (options.Isolate)
            {
                RunIsolated(options, rawArgs, dataRoot, recorder, clock);
            }
            else
            {
                RunInProcess(options, dataRoot, recorder, clock);
            }
            recorder.Notes.Add($"Load average (1/5/15 min) at start {loadAtStart}, at end {LoadAverage()} on {Environment.ProcessorCount} cores: " +
                "a load above the bench's own (about 1-2) means other processes shared the machine; rounds are interleaved and ratios paired either way.");
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }

        string command = "dotnet run -c Release --project Engine.Bench -- " + string.Join(' ', rawArgs);
        List<string> notes = [.. recorder.Notes.Distinct()];
        recorder.Notes = notes;
        RunReport report = Build(recorder, options, command, started, clock.Elapsed.TotalSeconds);
        WriteAll(report, outDir);
        Console.WriteLine();
        Console.WriteLine(MarkdownReport.ThroughputTable(report));
        Console.WriteLine($"done in {clock.Elapsed.TotalMinutes:F1} min: {Path.Combine(outDir, "results.json")}, results.md, chart.png");
        return 0;
    }

    /// <summary>
    /// The systems of one round in run order: even rounds forward, odd rounds reversed, the start
    /// rotated by one every two rounds (A B C, C B A, B C A, A C B, ...), so each system runs first,
    /// last and next to each other system equally often over the run.
    /// </summary>
    internal static IReadOnlyList<string> RoundOrder(IReadOnlyList<string> systems, int round)
    {
        int n = systems.Count;
        int shift = round / 2 % n;
        string[] rotated = [.. Enumerable.Range(0, n).Select(i => systems[(i + shift) % n])];
        if (round % 2 == 1)
        {
            Array.Reverse(rotated);
        }
        return rotated;
    }

    private static void RunInProcess(MacroOptions options, string dataRoot, Recorder recorder, Stopwatch clock)
    {
        var systems = options.Systems.ToDictionary(name => name, name => Create(name, options, dataRoot, tag: ""));
        try
        {
            // Untimed pass: JIT, first-touch of native code, LiteDB's engine start-up.
            foreach (IKvSystem system in systems.Values)
            {
                Session.Run(system, options, dataRoot, round: -1, recorder: null, num: Math.Min(options.Num, 20_000));
            }
            CheckSingleRocksDb(recorder);

            for (int round = 0; round < options.Rounds; round++)
            {
                Console.WriteLine($"round {round + 1}/{options.Rounds} ({clock.Elapsed.TotalMinutes:F1} min)");
                foreach (string name in RoundOrder(options.Systems, round))
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Session.Run(systems[name], options, dataRoot, round, recorder);
                }
            }
            AddNotes(recorder, systems.Values, options);
        }
        finally
        {
            foreach (IKvSystem system in systems.Values)
            {
                system.Dispose();
            }
        }
    }

    /// <summary>One child process per system and round; the child's recorder comes back as JSON.</summary>
    private static void RunIsolated(MacroOptions options, string[] rawArgs, string dataRoot, Recorder recorder, Stopwatch clock)
    {
        var lastNotes = new Dictionary<string, List<string>>();
        for (int round = 0; round < options.Rounds; round++)
        {
            Console.WriteLine($"round {round + 1}/{options.Rounds} ({clock.Elapsed.TotalMinutes:F1} min)");
            foreach (string name in RoundOrder(options.Systems, round))
            {
                string resultFile = Path.Combine(dataRoot, $"child-r{round}-{name}.json");
                Recorder child = RunChildProcess(rawArgs, name, round, dataRoot, resultFile);
                recorder.Merge(child);
                lastNotes[name] = child.Notes;
                File.Delete(resultFile);
            }
        }
        // Notes about a system's own counters: the last round's, in the run's system order.
        foreach (string name in options.Systems)
        {
            recorder.Notes.AddRange(lastNotes.GetValueOrDefault(name, []));
        }
        recorder.Notes.Add("Each system's round ran in its own child process (--in-process turns this off); peak RSS is that process's VmHWM.");
    }

    private static Recorder RunChildProcess(string[] rawArgs, string system, int round, string dataRoot, string resultFile)
    {
        var start = new ProcessStartInfo { UseShellExecute = false };
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("No process path to start a child from.");
        start.FileName = host;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            // Started as "dotnet Engine.Bench.dll": the child needs the same entry assembly.
            start.ArgumentList.Add(typeof(MacroRunner).Assembly.Location);
        }
        foreach (string arg in rawArgs)
        {
            start.ArgumentList.Add(arg);
        }
        start.ArgumentList.Add("--data");
        start.ArgumentList.Add(dataRoot);
        start.ArgumentList.Add("--child");
        start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"{system}:{round}:{resultFile}"));
        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the child for {system}.");
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The child process for {system}, round {round}, exited with {child.ExitCode}.");
        }
        return JsonReport.ReadRecorder(resultFile);
    }

    /// <summary>In the child: warm up, run one system's round, write the recorder and the peak RSS.</summary>
    private static int RunChild(MacroOptions options)
    {
        string dataRoot = Path.GetFullPath(options.DataDir ?? throw new ArgumentException("--child needs --data."));
        NativeLibraryCheck.EnsureLoaded();
        var recorder = new Recorder();
        string name = options.ChildSystem!;
        using (IKvSystem system = Create(name, options, dataRoot, tag: string.Create(CultureInfo.InvariantCulture, $"-r{options.ChildRound}")))
        {
            Session.Run(system, options, dataRoot, round: -1 - options.ChildRound, recorder: null, num: Math.Min(options.Num, 20_000));
            CheckSingleRocksDb(recorder);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Session.Run(system, options, dataRoot, options.ChildRound, recorder);
            AddNotes(recorder, [system], options);
            if (system is EngineSystem engine)
            {
                PluginMemoryCounters? counters = PluginMemory.TryRead();
                recorder.PluginMemory.Add(new PluginMemorySample(name, options.ChildRound, (long)engine.LastStats.LiveDeks,
                    (long?)counters?.PlainBufferPeakBytes, (long?)counters?.FrameIndexPeakBytes));
            }
        }
        recorder.Rss.Add(new RssSample(name, options.ChildRound, PeakRssBytes()));
        JsonReport.WriteRecorder(recorder, options.ChildOut!);
        return 0;
    }

    /// <summary>VmHWM of /proc/self/status: the most resident memory this process ever had.</summary>
    private static long PeakRssBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                string kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidDataException("/proc/self/status has no VmHWM line.");
    }

    /// <summary>Re-renders results.md and chart.png from an existing results.json (e.g. after a chart change).</summary>
    public static int Rerender(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : Path.Combine("Engine.Bench", "results");
        RunReport report = JsonReport.Read(Path.Combine(dir, "results.json"));
        // The targets follow the code (Reporting/Targets.cs), not the version that took the run.
        report = report with { Targets = Targets.Evaluate(report.Workloads, report.Space, report.Kms, report.Memory ?? []) };
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

    /// <param name="tag">Makes the CMEK key file name unique per child process.</param>
    private static IKvSystem Create(string name, MacroOptions options, string dataRoot, string tag) => name switch
    {
        "plain" => new PlainRocksDb(options.Namespaces),
        "stock-ctr" => new StockCtr(options.Namespaces),
        "engine" => new EngineSystem(Path.Combine(dataRoot, $"cmek{tag}.key"), options.FrameSize, options.Namespaces),
        "litedb" => new LiteDbSystem(options.LiteDbNum),
        "engine-env" => new EngineEnvRaw(Path.Combine(dataRoot, $"cmek-env{tag}.key"), options.FrameSize),
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

    private static void AddNotes(Recorder recorder, IEnumerable<IKvSystem> systems, MacroOptions options)
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
                        $"{s.FramesSealed:N0} frames sealed, {s.FramesOpened:N0} frames opened, {s.IntegrityFailures} integrity failures, {s.LiveDeks} files holding a DEK at close.");
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
        IReadOnlyList<MemoryResult> memory = Aggregate.Memory(recorder, names);
        IReadOnlyList<PluginMemoryResult> pluginMemory = Aggregate.PluginMemory(recorder, names);
        var settings = new Dictionary<string, string>
        {
            ["num"] = options.Num.ToString(CultureInfo.InvariantCulture),
            ["key_size"] = KeySpace.KeySize.ToString(CultureInfo.InvariantCulture),
            ["value_size"] = options.ValueSize.ToString(CultureInfo.InvariantCulture),
            ["batch"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["reads_max"] = options.ReadOps.ToString(CultureInfo.InvariantCulture),
            ["seconds_per_read_workload_max"] = options.Seconds.ToString(CultureInfo.InvariantCulture),
            ["rounds"] = options.Rounds.ToString(CultureInfo.InvariantCulture),
            ["round_order"] = "alternating (forward, reversed; rotated every two rounds)",
            ["process_per_system_round"] = options.Isolate ? "yes" : "no",
            ["mixed_threads"] = options.Threads.ToString(CultureInfo.InvariantCulture),
            ["namespaces"] = options.Namespaces.ToString(CultureInfo.InvariantCulture),
            ["block_cache_warm_mib"] = (options.WarmCacheBytes >> 20).ToString(CultureInfo.InvariantCulture),
            ["block_cache_cold_mib"] = (options.ColdCacheBytes >> 20).ToString(CultureInfo.InvariantCulture),
            ["frame_size"] = options.FrameSize.ToString(CultureInfo.InvariantCulture),
            ["wal"] = "on",
            ["sync"] = "off",
            ["compression"] = "RocksDB default (snappy); values ~50% compressible",
        };
        if (names.Contains("litedb"))
        {
            settings["litedb_num"] = Math.Min(options.LiteDbNum, options.Num).ToString(CultureInfo.InvariantCulture);
        }
        return new RunReport(command, started, seconds, MachineInfo.Collect(), settings, workloads, space, kms,
            Targets.Evaluate(workloads, space, kms, memory), recorder.Notes, memory, pluginMemory.Count > 0 ? pluginMemory : null);
    }

    private static void WriteAll(RunReport report, string outDir)
    {
        JsonReport.Write(report, Path.Combine(outDir, "results.json"));
        MarkdownReport.Write(report, Path.Combine(outDir, "results.md"));
        ChartReport.Write(report, Path.Combine(outDir, "chart.png"));
    }
}
