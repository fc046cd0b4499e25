using System.Globalization;
using System.Text;

namespace Engine.Bench.Reporting;

/// <summary>results.md: the tables a person reads, with the command and the machine.</summary>
internal static class MarkdownReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(RunReport report, string path) => File.WriteAllText(path, Render(report));

    public static string Render(RunReport report)
    {
        var md = new StringBuilder();
        md.AppendLine("# Engine.Bench macro results").AppendLine();
        md.AppendLine(Inv, $"Command: `{report.Command}`  ").AppendLine(Inv, $"Started {report.StartedUtc:yyyy-MM-dd HH:mm} UTC, took {report.DurationSeconds / 60:F1} min.").AppendLine();
        MachineInfo m = report.Machine;
        md.AppendLine(Inv, $"Machine: {m.Nproc} cores ({m.CpuModel}; {m.CpuFlagsOfNote}), {m.MemoryMib / 1024.0:F0} GiB, {m.Os}, {m.Dotnet}, " +
            $"{m.LibRocksDb} (headers {m.LibRocksDbHeaders}), {m.OpenSsl}, commit {m.GitCommit[..Math.Min(12, m.GitCommit.Length)]}.").AppendLine();
        md.AppendLine("Settings: " + string.Join(", ", report.Settings.Select(kv => $"{kv.Key}={kv.Value}")) + ".").AppendLine();

        md.AppendLine(ThroughputTable(report)).AppendLine();
        md.AppendLine("Ratios are medians over rounds of (system ops/s ÷ plain ops/s in the same round), so they compare runs made minutes apart on the same noisy machine; after each ratio: the interquartile range of the per-round ratios, then their min–max. Ops/s ranges are min–max over rounds.").AppendLine();
        md.AppendLine("### Per CPU second").AppendLine();
        md.AppendLine("The same workloads counted per second of CPU time of the whole process (all threads, user + system, including RocksDB's background flushes and compactions inside the interval). Unlike wall time this barely moves when other processes compete for the cores, so on a shared machine it is the steadier measure of what each system costs.").AppendLine();
        md.AppendLine(CpuTable(report)).AppendLine();

        md.AppendLine("## Peak memory (RSS)").AppendLine();
        md.AppendLine(MemoryTable(report)).AppendLine();
        if (PluginMemoryTable(report) is string plugin)
        {
            md.AppendLine(plugin).AppendLine();
        }

        md.AppendLine("## Write amplification and space (fillrandom + flush + full compaction)").AppendLine();
        md.AppendLine("| system | entries | user bytes | bytes written ÷ user bytes | device writes ÷ user bytes | store on disk | table files | tables vs plain | store vs plain |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (SpaceResult s in report.Space)
        {
            md.AppendLine(Inv, $"| {s.Name} | {s.Num:N0} | {Mib(s.UserBytes)} | {s.WriteAmplification:F2} | {s.DeviceWriteAmplification:F2} | {Mib(s.StoreBytes)} | {Mib(s.TableBytes)} | {Pct(s.TableBytesOverPlain)} | {Pct(s.StoreBytesOverPlain)} |");
        }
        md.AppendLine().AppendLine("Bytes written = wchar of /proc/self/io (every byte the process wrote to files: WAL, flushes, compactions); device writes = write_bytes (what reached the block layer by then). Table files are the SSTs (LiteDB: its data file).").AppendLine();

        md.AppendLine("## CMEK (KMS) calls").AppendLine();
        md.AppendLine("| system | opens | calls at open | ops in timed workloads | calls during workloads | calls per million ops |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (KmsResult k in report.Kms.Where(k => k.Name == "engine"))
        {
            md.AppendLine(Inv, $"| {k.Name} | {k.Opens} | {k.CallsAtOpen} | {k.WorkloadOps:N0} | {k.CallsDuringWorkloads} | {k.CallsPerMillionOps:F2} |");
        }
        md.AppendLine();

        md.AppendLine("## Targets (issue 13; met = wall and per CPU second both meet the goal)").AppendLine();
        md.AppendLine("| target | goal | measured (wall time) | met | measured per CPU second |");
        md.AppendLine("| --- | --- | ---: | --- | ---: |");
        foreach (TargetResult t in report.Targets)
        {
            string measured = t.Measured is double v ? (t.Goal.Contains('%', StringComparison.Ordinal) ? $"{v:F2}%" : v.ToString("F2", Inv)) : "n/a";
            string cpu = t.MeasuredCpu is double c ? c.ToString("F2", Inv) : "–";
            md.AppendLine(Inv, $"| {t.Target} | {t.Goal} | {measured} | {(t.Met is bool b ? (b ? "yes" : "**no**") : "n/a")} | {cpu} |");
        }
        md.AppendLine();

        md.AppendLine("## Workloads").AppendLine();
        foreach (WorkloadResult w in report.Workloads)
        {
            md.AppendLine(Inv, $"- `{w.Name}`: {w.Description}");
        }
        if (report.Notes.Count > 0)
        {
            md.AppendLine().AppendLine("## Notes").AppendLine();
            foreach (string note in report.Notes)
            {
                md.AppendLine("- " + note);
            }
        }
        return md.ToString();
    }

    /// <summary>Workloads down, systems across: ops/s median (min–max) and the ratio to plain.</summary>
    public static string ThroughputTable(RunReport report)
    {
        string[] systems = [.. report.Workloads.SelectMany(w => w.Systems.Select(s => s.Name)).Distinct()];
        var md = new StringBuilder();
        md.AppendLine("| workload | " + string.Join(" | ", systems.Select(s => $"{s} ops/s (min–max)")) + " | " + string.Join(" | ", systems.Where(s => s != "plain").Select(s => $"{s} ÷ plain")) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", systems.Length * 2 - 1)));
        foreach (WorkloadResult w in report.Workloads)
        {
            var cells = new List<string> { w.Name };
            foreach (string name in systems)
            {
                SystemResult? s = w.Systems.FirstOrDefault(x => x.Name == name);
                cells.Add(s is null ? "–" : $"{Ops(s.OpsPerSecMedian)} ({Ops(s.OpsPerSecMin)}–{Ops(s.OpsPerSecMax)})");
            }
            foreach (string name in systems.Where(s => s != "plain"))
            {
                SystemResult? s = w.Systems.FirstOrDefault(x => x.Name == name);
                cells.Add(s?.RatioToPlain is double r ? $"**{r:F2}x** {Spread(s.RatioToPlainQ1, s.RatioToPlainQ3, s.RatioToPlainMin, s.RatioToPlainMax)}" : "–");
            }
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        long? lite = report.Workloads.SelectMany(w => w.Systems).FirstOrDefault(s => s.Name == "litedb")?.Num;
        long? plainNum = report.Workloads.SelectMany(w => w.Systems).FirstOrDefault(s => s.Name == "plain")?.Num;
        if (lite is long l && plainNum is long p && l != p)
        {
            md.AppendLine().AppendLine(Inv, $"litedb ran with {l:N0} entries instead of {p:N0} (its per-document transactions would dominate the run); its ratios compare ops/s on a smaller store.");
        }
        return md.ToString();
    }

    /// <summary>ops per CPU second, median, and the paired ratio to plain.</summary>
    public static string CpuTable(RunReport report)
    {
        string[] systems = [.. report.Workloads.SelectMany(w => w.Systems.Select(s => s.Name)).Distinct()];
        var md = new StringBuilder();
        md.AppendLine("| workload | " + string.Join(" | ", systems.Select(s => $"{s} ops/CPU-s")) + " | " + string.Join(" | ", systems.Where(s => s != "plain").Select(s => $"{s} ÷ plain")) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", systems.Length * 2 - 1)));
        foreach (WorkloadResult w in report.Workloads)
        {
            var cells = new List<string> { w.Name };
            cells.AddRange(systems.Select(name => w.Systems.FirstOrDefault(x => x.Name == name) is SystemResult s ? Ops(s.OpsPerCpuSecMedian) : "–"));
            cells.AddRange(systems.Where(s => s != "plain").Select(name =>
                w.Systems.FirstOrDefault(x => x.Name == name) is SystemResult s && s.CpuRatioToPlain is double r
                    ? $"**{r:F2}x** {Spread(s.CpuRatioToPlainQ1, s.CpuRatioToPlainQ3, s.CpuRatioToPlainMin, s.CpuRatioToPlainMax)}"
                    : "–"));
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        return md.ToString();
    }

    /// <summary>Peak RSS per system (VmHWM of its own child process per round) and the paired ratio to plain.</summary>
    public static string MemoryTable(RunReport report)
    {
        if (report.Memory is not { Count: > 0 } memory)
        {
            return "Not measured (the run used --in-process, or predates the measurement).";
        }
        var md = new StringBuilder();
        md.AppendLine("| system | peak RSS, median | max | ÷ plain (median of per-round ratios) |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (MemoryResult m in memory)
        {
            md.AppendLine(Inv, $"| {m.Name} | {Mib(m.PeakRssMedianBytes)} | {Mib(m.PeakRssMaxBytes)} | {(m.Name == "plain" ? "–" : m.RatioToPlain is double r ? $"{r:F3}x ({(r - 1) * 100:+0.0;-0.0}%)" : "–")} |");
        }
        md.AppendLine().Append("Each system's round ran in its own process (runtime, untimed warm-up and every workload of the round, the warm phases with the same block cache for every RocksDB system); VmHWM from /proc/self/status at its end.");
        return md.ToString();
    }

    /// <summary>The engine plugin's own buffers (ekv_memory_stats) and DEK holders, or null when not recorded.</summary>
    public static string? PluginMemoryTable(RunReport report)
    {
        if (report.PluginMemory is not { Count: > 0 } plugin)
        {
            return null;
        }
        var md = new StringBuilder();
        md.AppendLine("| system | files holding a DEK at close | plaintext buffers, peak (median; max) | frame indexes, peak (median; max) |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (PluginMemoryResult p in plugin)
        {
            md.AppendLine(Inv, $"| {p.Name} | {p.LiveDeksAtCloseMedian} | {Bytes(p.PlainBufferPeakBytesMedian)}; {Bytes(p.PlainBufferPeakBytesMax)} | {Bytes(p.FrameIndexPeakBytesMedian)}; {Bytes(p.FrameIndexPeakBytesMax)} |");
        }
        md.AppendLine().Append("What the engine's plugin reports about its own memory in each round's process: file objects holding a DEK when the last store closed (ekv_stats.live_deks), and the most bytes its plaintext buffers (each reader's cached frame, per-thread scratch) and frame indexes held at once (ekv_memory_stats; – when the plugin has no such counter). Part of the engine's peak RSS above.");
        return md.ToString();
    }

    /// <summary>Bytes as KiB or MiB, or – when not measured.</summary>
    internal static string Bytes(long? bytes) => bytes switch
    {
        null => "–",
        < 1L << 20 => (bytes.Value / 1024.0).ToString("F1", Inv) + " KiB",
        _ => Mib(bytes.Value),
    };

    /// <summary>"(IQR a–b; min–max c–d)" of the per-round paired ratios; older results have no IQR.</summary>
    private static string Spread(double? q1, double? q3, double? min, double? max) =>
        q1 is double a && q3 is double b
            ? string.Create(Inv, $"(IQR {a:F2}–{b:F2}; {min:F2}–{max:F2})")
            : string.Create(Inv, $"({min:F2}–{max:F2})");

    internal static string Ops(double v) => v >= 1e6 ? (v / 1e6).ToString("F2", Inv) + "M" : v >= 1e3 ? (v / 1e3).ToString("F1", Inv) + "k" : v.ToString("F0", Inv);

    internal static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", Inv) + " MiB";

    private static string Pct(double? v) => v is double d ? (d * 100).ToString("+0.00;-0.00", Inv) + "%" : "–";
}
