using Engine.Bench.Workloads;

namespace Engine.Bench.Reporting;

/// <summary>
/// The goals of issue 13 (engine ÷ plain, same run), evaluated on one run: reported, never asserted.
/// A target is met only when both the wall-time and the per-CPU-second ratio meet it.
/// </summary>
internal static class Targets
{
    public static IReadOnlyList<TargetResult> Evaluate(IReadOnlyList<WorkloadResult> workloads, IReadOnlyList<SpaceResult> space, IReadOnlyList<KmsResult> kms, IReadOnlyList<MemoryResult> memory)
    {
        var results = new List<TargetResult>
        {
            AtLeast("engine fillseq / plain", workloads, Catalog.FillSeq, 0.95),
            AtLeast("engine fillrandom / plain", workloads, Catalog.FillRandom, 0.95),
            AtLeast("engine overwrite / plain", workloads, Catalog.Overwrite, 0.95),
            AtLeast("engine readrandom-cold / plain", workloads, Catalog.ReadRandomCold, 0.90),
            AtLeast("engine readrandom-warm / plain", workloads, Catalog.ReadRandomWarm, 0.95),
            AtLeast("engine readseq (scan) / plain", workloads, Catalog.ReadSeq, 0.95),
            AtLeast("engine seekrandom / plain", workloads, Catalog.SeekRandom, 0.95),
            AtLeast("engine mixed 90/10 / plain", workloads, Catalog.Mixed, 0.95),
        };
        // Flush + compaction is a time: its ratio is the inverse of the throughput ratio.
        double? compact = Ratio(workloads, Catalog.FlushCompact);
        double? compactTime = compact is double c && c > 0 ? 1 / c : null;
        double? compactCpu = Ratio(workloads, Catalog.FlushCompact, cpu: true) is double cc && cc > 0 ? 1 / cc : null;
        results.Add(new TargetResult("engine flush+compaction time / plain", "<= 1.05x", compactTime, Both(compactTime, compactCpu, t => t <= 1.05), compactCpu));
        double? overhead = space.FirstOrDefault(s => s.Name == "engine")?.TableBytesOverPlain;
        results.Add(new TargetResult("engine table bytes over plain (space overhead)", "<= 1.5%", overhead * 100, overhead is double o ? o <= 0.015 : null));
        double? storeOverhead = space.FirstOrDefault(s => s.Name == "engine")?.StoreBytesOverPlain;
        results.Add(new TargetResult("engine store bytes over plain (whole directory, info)", "<= 1.5%", storeOverhead * 100, storeOverhead is double so ? so <= 0.015 : null));
        double? rss = memory.FirstOrDefault(m => m.Name == "engine")?.RatioToPlain;
        results.Add(new TargetResult("engine peak RSS over plain", "<= 5%", rss is double r0 ? (r0 - 1) * 100 : null, rss is double r1 ? r1 <= 1.05 : null));
        KmsResult? engineKms = kms.FirstOrDefault(k => k.Name == "engine");
        results.Add(new TargetResult("engine CMEK calls per million ops (steady state)", "~0", engineKms?.CallsPerMillionOps, engineKms is null ? null : engineKms.CallsPerMillionOps < 1));
        // Kept from issue 6 as information: the engine against RocksDB's stock CTR EncryptedEnv.
        results.Add(new TargetResult("engine / stock-ctr on readrandom-cold (info)", ">= 3.00x", Versus(workloads, Catalog.ReadRandomCold, "stock-ctr", false),
            Versus(workloads, Catalog.ReadRandomCold, "stock-ctr", false) is double v1 ? v1 >= 3.0 : null, Versus(workloads, Catalog.ReadRandomCold, "stock-ctr", true)));
        results.Add(new TargetResult("engine / stock-ctr on readseq (scan) (info)", ">= 2.00x", Versus(workloads, Catalog.ReadSeq, "stock-ctr", false),
            Versus(workloads, Catalog.ReadSeq, "stock-ctr", false) is double v2 ? v2 >= 2.0 : null, Versus(workloads, Catalog.ReadSeq, "stock-ctr", true)));
        return results;
    }

    /// <summary>Met when both measures meet the goal; unknown when either is missing.</summary>
    private static bool? Both(double? wall, double? cpu, Func<double, bool> meets) =>
        wall is double w && cpu is double c ? meets(w) && meets(c) : null;

    private static TargetResult AtLeast(string name, IReadOnlyList<WorkloadResult> workloads, string workload, double goal)
    {
        double? measured = Ratio(workloads, workload);
        double? cpu = Ratio(workloads, workload, cpu: true);
        return new(name, $">= {goal:0.00}x", measured, Both(measured, cpu, m => m >= goal), cpu);
    }

    private static double? Ratio(IReadOnlyList<WorkloadResult> workloads, string workload, bool cpu = false)
    {
        SystemResult? engine = workloads.FirstOrDefault(w => w.Name == workload)?.Systems.FirstOrDefault(s => s.Name == "engine");
        return cpu ? engine?.CpuRatioToPlain : engine?.RatioToPlain;
    }

    /// <summary>Engine over another system, from their paired ratios to plain.</summary>
    private static double? Versus(IReadOnlyList<WorkloadResult> workloads, string workload, string other, bool cpu)
    {
        WorkloadResult? w = workloads.FirstOrDefault(x => x.Name == workload);
        SystemResult? e = w?.Systems.FirstOrDefault(s => s.Name == "engine");
        SystemResult? o = w?.Systems.FirstOrDefault(s => s.Name == other);
        double? engine = cpu ? e?.CpuRatioToPlain : e?.RatioToPlain;
        double? them = cpu ? o?.CpuRatioToPlain : o?.RatioToPlain;
        return engine is double mine && them is double theirs && theirs > 0 ? mine / theirs : null;
    }
}
