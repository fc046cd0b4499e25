using Engine.Bench.Macro;
using Engine.Bench.Workloads;

namespace Engine.Bench.Reporting;

/// <summary>
/// One system's numbers for one workload. ratio_to_plain is the median over rounds of
/// (this system's ops/s / plain's ops/s in the same round): paired by round, so slow drift of a
/// noisy machine cancels out instead of landing on whichever system ran during a bad minute.
/// The spread of those paired ratios (min-max and the interquartile range) is reported for wall
/// and CPU time alike, with the per-round ratios themselves; fields added after the first
/// consumers default to null so older results.json files still read.
/// </summary>
internal sealed record SystemResult(
    string Name,
    long Num,
    double OpsPerSecMedian,
    double OpsPerSecMin,
    double OpsPerSecMax,
    double SecondsMedian,
    double? RatioToPlain,
    double? RatioToPlainMin,
    double? RatioToPlainMax,
    IReadOnlyList<double> OpsPerSecRounds,
    double OpsPerCpuSecMedian,
    double? CpuRatioToPlain,
    double? RatioToPlainQ1 = null,
    double? RatioToPlainQ3 = null,
    IReadOnlyList<double>? RatioToPlainRounds = null,
    double? CpuRatioToPlainMin = null,
    double? CpuRatioToPlainMax = null,
    double? CpuRatioToPlainQ1 = null,
    double? CpuRatioToPlainQ3 = null,
    IReadOnlyList<double>? CpuRatioToPlainRounds = null);

internal sealed record WorkloadResult(string Name, string Description, IReadOnlyList<SystemResult> Systems);

/// <summary>Write amplification and on-disk size after fillrandom + flush + full compaction (medians over rounds).</summary>
internal sealed record SpaceResult(
    string Name,
    long Num,
    long UserBytes,
    double WriteAmplification,
    double DeviceWriteAmplification,
    long StoreBytes,
    long TableBytes,
    double? TableBytesOverPlain,
    double? StoreBytesOverPlain);

/// <summary>CMEK (KMS) traffic of a system over the whole run.</summary>
internal sealed record KmsResult(string Name, int Opens, long CallsAtOpen, long WorkloadOps, long CallsDuringWorkloads, double CallsPerMillionOps);

/// <summary>
/// Peak resident memory of one system: VmHWM of the child process that ran each round (median and
/// max over rounds), and the median over rounds of the paired ratio to plain's peak.
/// </summary>
internal sealed record MemoryResult(string Name, long PeakRssMedianBytes, long PeakRssMaxBytes, double? RatioToPlain, IReadOnlyList<long> PeakRssRounds);

/// <summary>
/// The engine plugin's own memory (PluginMemorySample) over rounds: medians, and the most any
/// round's process held. Byte fields are null when the plugin does not export ekv_memory_stats.
/// </summary>
internal sealed record PluginMemoryResult(
    string Name,
    long LiveDeksAtCloseMedian,
    long? PlainBufferPeakBytesMedian,
    long? PlainBufferPeakBytesMax,
    long? FrameIndexPeakBytesMedian,
    long? FrameIndexPeakBytesMax);

/// <summary>A target (Reporting/Targets.cs), checked against this run.</summary>
/// <param name="MeasuredCpu">The same ratio per CPU second, where it applies (steadier on a shared machine).</param>
internal sealed record TargetResult(string Target, string Goal, double? Measured, bool? Met, double? MeasuredCpu = null);

internal sealed record RunReport(
    string Command,
    DateTimeOffset StartedUtc,
    double DurationSeconds,
    MachineInfo Machine,
    IReadOnlyDictionary<string, string> Settings,
    IReadOnlyList<WorkloadResult> Workloads,
    IReadOnlyList<SpaceResult> Space,
    IReadOnlyList<KmsResult> Kms,
    IReadOnlyList<TargetResult> Targets,
    IReadOnlyList<string> Notes,
    IReadOnlyList<MemoryResult>? Memory = null,
    IReadOnlyList<PluginMemoryResult>? PluginMemory = null);

internal static class Aggregate
{
    public static IReadOnlyList<WorkloadResult> Workloads(Recorder recorder, IReadOnlyList<string> systems)
    {
        var results = new List<WorkloadResult>();
        foreach ((string name, string description) in Catalog.All)
        {
            List<Sample> plain = [.. recorder.Samples.Where(s => s.Workload == name && s.System == "plain")];
            var perSystem = new List<SystemResult>();
            foreach (string system in systems)
            {
                List<Sample> mine = [.. recorder.Samples.Where(s => s.Workload == name && s.System == system).OrderBy(s => s.Round)];
                if (mine.Count == 0)
                {
                    continue;
                }
                double[] ops = [.. mine.Select(s => s.Result.OpsPerSec)];
                double[] ratios = PairedRatios(mine, plain, r => r.OpsPerSec);
                double[] cpuRatios = PairedRatios(mine, plain, r => r.OpsPerCpuSec);
                bool paired = ratios.Length > 0;
                bool cpuPaired = cpuRatios.Length > 0;
                perSystem.Add(new SystemResult(
                    system,
                    mine[0].Num,
                    Median(ops),
                    ops.Min(),
                    ops.Max(),
                    Median([.. mine.Select(s => s.Result.Seconds)]),
                    ratios.Length > 0 ? Median(ratios) : null,
                    ratios.Length > 0 ? ratios.Min() : null,
                    ratios.Length > 0 ? ratios.Max() : null,
                    ops,
                    Median([.. mine.Select(s => s.Result.OpsPerCpuSec)]),
                    cpuPaired ? Median(cpuRatios) : null,
                    paired ? Quantile(ratios, 0.25) : null,
                    paired ? Quantile(ratios, 0.75) : null,
                    paired ? ratios : null,
                    cpuPaired ? cpuRatios.Min() : null,
                    cpuPaired ? cpuRatios.Max() : null,
                    cpuPaired ? Quantile(cpuRatios, 0.25) : null,
                    cpuPaired ? Quantile(cpuRatios, 0.75) : null,
                    cpuPaired ? cpuRatios : null));
            }
            if (perSystem.Count > 0)
            {
                results.Add(new WorkloadResult(name, description, perSystem));
            }
        }
        return results;
    }

    /// <summary>Per round: this system's metric over plain's in the same round.</summary>
    private static double[] PairedRatios(List<Sample> mine, List<Sample> plain, Func<Timed, double> metric) =>
        [.. mine
            .Select(s => (s, p: plain.FirstOrDefault(p => p.Round == s.Round)))
            .Where(x => x.p is not null && metric(x.p.Result) > 0)
            .Select(x => metric(x.s.Result) / metric(x.p!.Result))];

    public static IReadOnlyList<SpaceResult> Space(Recorder recorder, IReadOnlyList<string> systems)
    {
        var rows = new List<(string Name, long Num, long User, double Wa, double DevWa, long Store, long Tables)>();
        foreach (string system in systems)
        {
            List<SpaceSample> mine = [.. recorder.Space.Where(s => s.System == system)];
            if (mine.Count == 0)
            {
                continue;
            }
            rows.Add((system, mine[0].Num, mine[0].UserBytes,
                Median([.. mine.Select(s => (double)s.Written.WriteChars / s.UserBytes)]),
                Median([.. mine.Select(s => (double)s.Written.WriteBytes / s.UserBytes)]),
                (long)Median([.. mine.Select(s => (double)s.OnDisk.TotalBytes)]),
                (long)Median([.. mine.Select(s => (double)s.OnDisk.TableBytes)])));
        }
        var plain = rows.FirstOrDefault(r => r.Name == "plain");
        return [.. rows.Select(r => new SpaceResult(r.Name, r.Num, r.User, r.Wa, r.DevWa, r.Store, r.Tables,
            plain.Name is null || r.Num != plain.Num ? null : (double)r.Tables / plain.Tables - 1,
            plain.Name is null || r.Num != plain.Num ? null : (double)r.Store / plain.Store - 1))];
    }

    public static IReadOnlyList<KmsResult> Kms(Recorder recorder, IReadOnlyList<string> systems) =>
        [.. systems
            .Select(system => recorder.Kms.Where(k => k.System == system).ToList())
            .Where(list => list.Count > 0)
            .Select(list =>
            {
                long ops = list.Sum(k => k.WorkloadOps);
                long calls = list.Sum(k => k.CallsDuringWorkloads);
                return new KmsResult(list[0].System, list.Sum(k => k.Opens), list.Sum(k => k.CallsAtOpen), ops, calls,
                    ops > 0 ? calls * 1e6 / ops : 0);
            })];

    public static IReadOnlyList<MemoryResult> Memory(Recorder recorder, IReadOnlyList<string> systems)
    {
        var plain = recorder.Rss.Where(r => r.System == "plain").ToDictionary(r => r.Round, r => r.PeakBytes);
        var results = new List<MemoryResult>();
        foreach (string system in systems)
        {
            List<RssSample> mine = [.. recorder.Rss.Where(r => r.System == system).OrderBy(r => r.Round)];
            if (mine.Count == 0)
            {
                continue;
            }
            double[] ratios = [.. mine.Where(r => plain.GetValueOrDefault(r.Round) > 0).Select(r => (double)r.PeakBytes / plain[r.Round])];
            results.Add(new MemoryResult(system, (long)Median([.. mine.Select(r => (double)r.PeakBytes)]), mine.Max(r => r.PeakBytes),
                ratios.Length > 0 ? Median(ratios) : null, [.. mine.Select(r => r.PeakBytes)]));
        }
        return results;
    }

    public static IReadOnlyList<PluginMemoryResult> PluginMemory(Recorder recorder, IReadOnlyList<string> systems)
    {
        var results = new List<PluginMemoryResult>();
        foreach (string system in systems)
        {
            List<PluginMemorySample> mine = [.. recorder.PluginMemory.Where(p => p.System == system)];
            if (mine.Count == 0)
            {
                continue;
            }
            long[] plain = [.. mine.Where(p => p.PlainBufferPeakBytes is not null).Select(p => p.PlainBufferPeakBytes!.Value)];
            long[] index = [.. mine.Where(p => p.FrameIndexPeakBytes is not null).Select(p => p.FrameIndexPeakBytes!.Value)];
            results.Add(new PluginMemoryResult(
                system,
                (long)Median([.. mine.Select(p => (double)p.LiveDeksAtClose)]),
                plain.Length > 0 ? (long)Median([.. plain.Select(v => (double)v)]) : null,
                plain.Length > 0 ? plain.Max() : null,
                index.Length > 0 ? (long)Median([.. index.Select(v => (double)v)]) : null,
                index.Length > 0 ? index.Max() : null));
        }
        return results;
    }

    /// <summary>Linear-interpolated quantile (the same rule as numpy's default) of a non-empty set.</summary>
    public static double Quantile(double[] values, double q)
    {
        double[] sorted = [.. values.Order()];
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    public static double Median(double[] values)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
