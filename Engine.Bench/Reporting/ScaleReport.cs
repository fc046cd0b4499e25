using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Engine.Bench.Workloads;

namespace Engine.Bench.Reporting;

/// <summary>
/// scale.md: several runs (the scale runs of issue 13, each its own results.json) side by side, so
/// growth is visible: each system's ratio to plain per workload at each size, wall and per CPU
/// second, peak RSS per system, the engine plugin's own memory, and what each extra namespace costs
/// when two runs differ only in --namespaces.
/// </summary>
internal static partial class ScaleReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Settings two runs must share for their RSS to be compared across namespace counts.</summary>
    private static readonly string[] SameShape = ["num", "value_size", "mixed_threads", "batch", "block_cache_warm_mib", "block_cache_cold_mib", "frame_size"];

    public const string Usage = "report-scale [--out FILE] DIR1 DIR2 ...   one growth table from the runs' results.json (default FILE: Engine.Bench/results/scale.md)";

    /// <summary>report-scale [--out FILE] DIR1 DIR2 ...: reads DIRn/results.json, writes FILE.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        string outFile = Path.Combine("Engine.Bench", "results", "scale.md");
        var dirs = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--out")
            {
                if (i + 1 >= args.Count)
                {
                    Console.Error.WriteLine($"--out needs a file.\n{Usage}");
                    return 2;
                }
                outFile = args[++i];
            }
            else
            {
                dirs.Add(args[i]);
            }
        }
        if (dirs.Count == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        List<(string Dir, RunReport Report)> runs = [.. dirs.Select(d => (d, JsonReport.Read(Path.Combine(d, "results.json"))))];
        File.WriteAllText(outFile, Render(runs));
        Console.WriteLine($"{outFile}: {runs.Count} runs");
        return 0;
    }

    public static string Render(IReadOnlyList<(string Dir, RunReport Report)> runs)
    {
        var md = new StringBuilder();
        md.AppendLine("# Engine.Bench scale runs (issue 13)").AppendLine();
        md.AppendLine("How the cost of encryption grows with the store: each column is one macro run (its own results.json), rendered by `dotnet run -c Release --project Engine.Bench -- report-scale DIR1 DIR2 ...`. " +
            "Ratios are medians over rounds of the paired per-round ratio to plain (as in each run's results.md); in brackets the interquartile range of those per-round ratios. A wide range means a busy machine: read the per-CPU-second tables then.").AppendLine();

        md.AppendLine("## Runs").AppendLine();
        md.AppendLine("| # | run | directory | rounds | started (UTC) | took | load (1 min) at start → end | command |");
        md.AppendLine("| ---: | --- | --- | ---: | --- | ---: | --- | --- |");
        for (int i = 0; i < runs.Count; i++)
        {
            RunReport r = runs[i].Report;
            md.AppendLine(Inv, $"| {i + 1} | {Label(r)} | `{runs[i].Dir}` | {Setting(r, "rounds", "?")} | {r.StartedUtc:yyyy-MM-dd HH:mm} | {r.DurationSeconds / 60:F1} min | {Load(r)} | `{r.Command}` |");
        }
        md.AppendLine();

        string[] others = [.. runs.SelectMany(x => x.Report.Workloads.SelectMany(w => w.Systems.Select(s => s.Name)))
            .Distinct().Where(s => s != "plain").OrderBy(SystemOrder)];
        foreach (string system in others)
        {
            md.AppendLine(Inv, $"## {system} ÷ plain, wall time").AppendLine();
            md.Append(RatioTable(runs, system, cpu: false)).AppendLine();
            md.AppendLine(Inv, $"## {system} ÷ plain, per CPU second").AppendLine();
            md.Append(RatioTable(runs, system, cpu: true)).AppendLine();
        }
        if (others.Contains("litedb"))
        {
            md.AppendLine("litedb runs with at most --litedb-num entries (each run's results.md says how many); its ratios compare ops/s on that smaller store.").AppendLine();
        }

        md.AppendLine("## Memory and space").AppendLine();
        md.Append(MemoryTable(runs, others)).AppendLine();
        md.AppendLine("Peak RSS is the median over rounds of VmHWM of the child process that ran each system's round (runtime, untimed warm-up, every workload of the round); ÷ plain is the median of per-round ratios. " +
            "The engine plugin rows are what the plugin reports about its own memory (results.json `plugin_memory`; – when the run or the plugin did not record it). Table bytes are after fillrandom + flush + full compaction.").AppendLine();

        string growth = NamespaceGrowth(runs);
        if (growth.Length > 0)
        {
            md.AppendLine("## What a namespace costs in memory").AppendLine();
            md.AppendLine(growth).AppendLine();
        }
        return md.ToString();
    }

    /// <summary>Workloads down, runs across: the system's median ratio to plain and its IQR.</summary>
    private static string RatioTable(IReadOnlyList<(string Dir, RunReport Report)> runs, string system, bool cpu)
    {
        var md = new StringBuilder();
        md.AppendLine("| workload | " + string.Join(" | ", runs.Select((r, i) => $"{i + 1}: {Label(r.Report)}")) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", runs.Count)));
        IEnumerable<string> workloads = runs.SelectMany(x => x.Report.Workloads.Select(w => w.Name)).Distinct().OrderBy(Catalog.Order);
        foreach (string workload in workloads)
        {
            var cells = new List<string> { workload };
            foreach ((_, RunReport report) in runs)
            {
                SystemResult? s = report.Workloads.FirstOrDefault(w => w.Name == workload)?.Systems.FirstOrDefault(x => x.Name == system);
                (double? median, double? q1, double? q3) = cpu
                    ? (s?.CpuRatioToPlain, s?.CpuRatioToPlainQ1, s?.CpuRatioToPlainQ3)
                    : (s?.RatioToPlain, s?.RatioToPlainQ1, s?.RatioToPlainQ3);
                cells.Add(median is double m
                    ? q1 is double a && q3 is double b ? string.Create(Inv, $"**{m:F2}** ({a:F2}–{b:F2})") : string.Create(Inv, $"**{m:F2}**")
                    : "–");
            }
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        return md.ToString();
    }

    /// <summary>Rows: peak RSS per system, its ratio to plain, the plugin's own memory and table bytes; runs across.</summary>
    private static string MemoryTable(IReadOnlyList<(string Dir, RunReport Report)> runs, IReadOnlyList<string> others)
    {
        var rows = new List<(string Name, Func<RunReport, string> Cell)>
        {
            ("plain peak RSS", r => Rss(r, "plain") is MemoryResult m ? MarkdownReport.Mib(m.PeakRssMedianBytes) : "–"),
        };
        foreach (string system in others)
        {
            rows.Add(($"{system} peak RSS", r => Rss(r, system) is MemoryResult m ? MarkdownReport.Mib(m.PeakRssMedianBytes) : "–"));
            rows.Add(($"{system} peak RSS ÷ plain", r => Rss(r, system)?.RatioToPlain is double x ? string.Create(Inv, $"{x:F3}x ({(x - 1) * 100:+0.0;-0.0}%)") : "–"));
        }
        rows.Add(("engine plugin: files holding a DEK at close", r => Plugin(r)?.LiveDeksAtCloseMedian.ToString(Inv) ?? "–"));
        rows.Add(("engine plugin: plaintext buffers, peak", r => MarkdownReport.Bytes(Plugin(r)?.PlainBufferPeakBytesMedian)));
        rows.Add(("engine plugin: frame indexes, peak", r => MarkdownReport.Bytes(Plugin(r)?.FrameIndexPeakBytesMedian)));
        rows.Add(("engine table bytes vs plain", r => r.Space.FirstOrDefault(s => s.Name == "engine")?.TableBytesOverPlain is double o ? string.Create(Inv, $"{o * 100:+0.00;-0.00}%") : "–"));

        var md = new StringBuilder();
        md.AppendLine("| | " + string.Join(" | ", runs.Select((r, i) => $"{i + 1}: {Label(r.Report)}")) + " |");
        md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", runs.Count)));
        foreach ((string name, Func<RunReport, string> cell) in rows)
        {
            md.AppendLine("| " + name + " | " + string.Join(" | ", runs.Select(r => cell(r.Report))) + " |");
        }
        return md.ToString();
    }

    /// <summary>
    /// For each run with N &gt; 1 namespaces and a run of the same shape with one: how much each
    /// system's peak RSS grew, in all and per extra namespace, and the engine's growth beyond plain's.
    /// </summary>
    private static string NamespaceGrowth(IReadOnlyList<(string Dir, RunReport Report)> runs)
    {
        var md = new StringBuilder();
        for (int i = 0; i < runs.Count; i++)
        {
            RunReport many = runs[i].Report;
            int n = Namespaces(many);
            if (n <= 1)
            {
                continue;
            }
            int j = Enumerable.Range(0, runs.Count).FirstOrDefault(k => Namespaces(runs[k].Report) == 1 && SameShape.All(key => Setting(runs[k].Report, key, "") == Setting(many, key, "")), -1);
            if (j < 0)
            {
                md.AppendLine(Inv, $"Run {i + 1} ({n} namespaces) has no one-namespace run of the same shape (same {string.Join(", ", SameShape)}) among these runs to compare with.").AppendLine();
                continue;
            }
            RunReport one = runs[j].Report;
            md.AppendLine(Inv, $"Run {j + 1} (1 namespace) → run {i + 1} ({n} namespaces):").AppendLine();
            md.AppendLine("| system | peak RSS, 1 namespace | peak RSS, " + n.ToString(Inv) + " namespaces | growth | per extra namespace | growth beyond plain's |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            long? plainGrowth = Rss(many, "plain") is MemoryResult pm && Rss(one, "plain") is MemoryResult p1 ? pm.PeakRssMedianBytes - p1.PeakRssMedianBytes : null;
            foreach (string system in many.Memory?.Select(m => m.Name) ?? [])
            {
                if (Rss(one, system) is not MemoryResult before || Rss(many, system) is not MemoryResult after)
                {
                    continue;
                }
                long growth = after.PeakRssMedianBytes - before.PeakRssMedianBytes;
                string beyond = system == "plain" || plainGrowth is not long pg ? "–" : SignedMib(growth - pg);
                md.AppendLine(Inv, $"| {system} | {MarkdownReport.Mib(before.PeakRssMedianBytes)} | {MarkdownReport.Mib(after.PeakRssMedianBytes)} | {SignedMib(growth)} | {SignedKib((double)growth / (n - 1))} | {beyond} |");
            }
            md.AppendLine();
        }
        if (md.Length > 0)
        {
            md.Append("Peak RSS medians over rounds. Each extra namespace is a column family with its own directory, memtable and table readers in every RocksDB system; in the engine also a KEK and the plugin's per-file state. " +
                "\"Growth beyond plain's\" is what the engine's (or stock CTR's) own per-namespace state adds on top of RocksDB's.");
        }
        return md.ToString();
    }

    /// <summary>"1M × 100 B", "10M × 100 B", "1M × 1 KiB, mixed on 4 threads", "1M × 100 B, 100 namespaces".</summary>
    internal static string Label(RunReport r)
    {
        var label = new StringBuilder();
        long num = long.TryParse(Setting(r, "num", ""), NumberStyles.Integer, Inv, out long parsed) ? parsed : 0;
        int value = int.TryParse(Setting(r, "value_size", ""), NumberStyles.Integer, Inv, out int v) ? v : 0;
        label.Append(Count(num)).Append(" × ").Append(value >= 1024 && value % 1024 == 0 ? $"{value / 1024} KiB" : $"{value} B");
        if (Setting(r, "mixed_threads", "1") is string t && t != "1")
        {
            label.Append(Inv, $", mixed on {t} threads");
        }
        if (Namespaces(r) is int n && n > 1)
        {
            label.Append(Inv, $", {n} namespaces");
        }
        return label.ToString();
    }

    private static string Count(long n) => n switch
    {
        >= 1_000_000 when n % 1_000_000 == 0 => $"{n / 1_000_000}M",
        >= 1_000 when n % 1_000 == 0 => $"{n / 1_000}k",
        _ => n.ToString("N0", Inv),
    };

    /// <summary>Runs before --namespaces had none: they used one.</summary>
    private static int Namespaces(RunReport r) => int.TryParse(Setting(r, "namespaces", "1"), NumberStyles.Integer, Inv, out int n) ? n : 1;

    private static string Setting(RunReport r, string key, string absent) => r.Settings.TryGetValue(key, out string? value) ? value : absent;

    private static MemoryResult? Rss(RunReport r, string system) => r.Memory?.FirstOrDefault(m => m.Name == system);

    private static PluginMemoryResult? Plugin(RunReport r) => r.PluginMemory?.FirstOrDefault(p => p.Name == "engine");

    /// <summary>"a → b", the 1-minute load averages of the run's load note, or "?" for runs without one.</summary>
    private static string Load(RunReport r)
    {
        foreach (string note in r.Notes)
        {
            Match m = LoadNote().Match(note);
            if (m.Success)
            {
                return $"{m.Groups[1].Value} → {m.Groups[2].Value}";
            }
        }
        return "?";
    }

    /// <summary>engine first, then stock-ctr, then the rest by name.</summary>
    private static string SystemOrder(string name) => name switch
    {
        "engine" => "0",
        "stock-ctr" => "1",
        _ => "2" + name,
    };

    private static string SignedMib(long bytes) => (bytes / 1048576.0).ToString("+0.0;-0.0", Inv) + " MiB";

    private static string SignedKib(double bytes) => (bytes / 1024.0).ToString("+0.0;-0.0", Inv) + " KiB";

    [GeneratedRegex(@"at start ([^/\s]+)\S*, at end ([^/\s]+)")]
    private static partial Regex LoadNote();
}
