using Engine.Bench.Workloads;

namespace Engine.Bench.Macro;

/// <summary>One timed workload of one system in one round.</summary>
internal sealed record Sample(string Workload, string System, int Round, long Num, Timed Result);

/// <summary>Writes and space of one system's fillrandom + flush + compaction in one round.</summary>
internal sealed record SpaceSample(string System, int Round, long Num, long UserBytes, ProcIo Written, DirUsage OnDisk);

/// <summary>CMEK calls of one system in one round: at opens, and during timed workloads.</summary>
internal sealed record KmsSample(string System, int Round, int Opens, long CallsAtOpen, long WorkloadOps, long CallsDuringWorkloads);

/// <summary>Everything measured in a run, in the order it happened.</summary>
internal sealed class Recorder
{
    public List<Sample> Samples { get; } = [];

    public List<SpaceSample> Space { get; } = [];

    public List<KmsSample> Kms { get; } = [];

    public List<string> Notes { get; } = [];
}
