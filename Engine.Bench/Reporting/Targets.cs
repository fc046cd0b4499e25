using Engine.Bench.Workloads;

namespace Engine.Bench.Reporting;

/// <summary>The goals of issue 6, evaluated on one run (reported, never asserted).</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetResult> Evaluate(IReadOnlyList<WorkloadResult> workloads, IReadOnlyList<SpaceResult> space, IReadOnlyList<KmsResult> kms)
    {
        var results = new List<TargetResult>
        {
            AtLeast("engine fillrandom / plain", Ratio(workloads, Catalog.FillRandom), 0.90),
            AtLeast("engine readrandom-warm / plain", Ratio(workloads, Catalog.ReadRandomWarm), 0.90),
            AtLeast("engine readseq (scan) / plain", Ratio(workloads, Catalog.ReadSeq), 0.90),
            AtLeast("engine readrandom-cold / plain", Ratio(workloads, Catalog.ReadRandomCold), 0.80),
        };
        // Flush + compaction is a time: its ratio is the inverse of the throughput ratio.
        double? compact = Ratio(workloads, Catalog.FlushCompact);
        double? compactTime = compact is double c && c > 0 ? 1 / c : null;
        results.Add(new TargetResult("engine flush+compaction time / plain", "<= 1.25x", compactTime, compactTime is double t ? t <= 1.25 : null));
        // With a warm cache both serve plaintext blocks from memory; the 3x goal is about block reads.
        results.Add(AtLeast("engine / stock-ctr on readrandom-cold", Versus(workloads, Catalog.ReadRandomCold, "stock-ctr"), 3.0));
        results.Add(AtLeast("engine / stock-ctr on readseq (scan)", Versus(workloads, Catalog.ReadSeq, "stock-ctr"), 2.0));
        double? overhead = space.FirstOrDefault(s => s.Name == "engine")?.TableBytesOverPlain;
        results.Add(new TargetResult("engine table bytes over plain (space overhead)", "<= 1.5%", overhead * 100, overhead is double o ? o <= 0.015 : null));
        double? storeOverhead = space.FirstOrDefault(s => s.Name == "engine")?.StoreBytesOverPlain;
        results.Add(new TargetResult("engine store bytes over plain (whole directory, info)", "<= 1.5%", storeOverhead * 100, storeOverhead is double so ? so <= 0.015 : null));
        KmsResult? engineKms = kms.FirstOrDefault(k => k.Name == "engine");
        results.Add(new TargetResult("engine CMEK calls per million ops (steady state)", "~0", engineKms?.CallsPerMillionOps, engineKms is null ? null : engineKms.CallsPerMillionOps < 1));
        return results;
    }

    private static TargetResult AtLeast(string name, double? measured, double goal) =>
        new(name, $">= {goal:0.00}x", measured, measured is double m ? m >= goal : null);

    private static double? Ratio(IReadOnlyList<WorkloadResult> workloads, string workload) =>
        workloads.FirstOrDefault(w => w.Name == workload)?.Systems.FirstOrDefault(s => s.Name == "engine")?.RatioToPlain;

    /// <summary>Engine over another system, from their paired ratios to plain.</summary>
    private static double? Versus(IReadOnlyList<WorkloadResult> workloads, string workload, string other)
    {
        WorkloadResult? w = workloads.FirstOrDefault(x => x.Name == workload);
        double? engine = w?.Systems.FirstOrDefault(s => s.Name == "engine")?.RatioToPlain;
        double? them = w?.Systems.FirstOrDefault(s => s.Name == other)?.RatioToPlain;
        return engine is double e && them is double t && t > 0 ? e / t : null;
    }
}
