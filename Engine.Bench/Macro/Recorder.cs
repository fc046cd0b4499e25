using Engine.Bench.Workloads;

namespace Engine.Bench.Macro;

/// <summary>One timed workload of one system in one round.</summary>
internal sealed record Sample(string Workload, string System, int Round, long Num, Timed Result);

/// <summary>Writes and space of one system's fillrandom + flush + compaction in one round.</summary>
internal sealed record SpaceSample(string System, int Round, long Num, long UserBytes, ProcIo Written, DirUsage OnDisk);

/// <summary>CMEK calls of one system in one round: at opens, and during timed workloads.</summary>
internal sealed record KmsSample(string System, int Round, int Opens, long CallsAtOpen, long WorkloadOps, long CallsDuringWorkloads);

/// <summary>
/// Peak resident set of the child process that ran one system's round (VmHWM of /proc/self/status
/// at its end, after the untimed warm-up pass and every workload of the round).
/// </summary>
internal sealed record RssSample(string System, int Round, long PeakBytes);

/// <summary>
/// What the engine's native plugin says about its own memory in the child process that ran one
/// round: file objects holding a DEK when the last store closed, and (when the plugin exports
/// ekv_memory_stats) the peak bytes of its plaintext buffers and frame indexes over the process.
/// </summary>
internal sealed record PluginMemorySample(string System, int Round, long LiveDeksAtClose, long? PlainBufferPeakBytes, long? FrameIndexPeakBytes);

/// <summary>Everything measured in a run, in the order it happened.</summary>
internal sealed class Recorder
{
    public List<RssSample> Rss { get; set; } = [];

    public List<PluginMemorySample> PluginMemory { get; set; } = [];

    // Settable so a child's recorder round-trips through JSON to its parent.
    public List<Sample> Samples { get; set; } = [];

    public List<SpaceSample> Space { get; set; } = [];

    public List<KmsSample> Kms { get; set; } = [];

    public List<string> Notes { get; set; } = [];

    /// <summary>Adds what a child process recorded for one system's round.</summary>
    public void Merge(Recorder child)
    {
        Samples.AddRange(child.Samples);
        Space.AddRange(child.Space);
        Kms.AddRange(child.Kms);
        Rss.AddRange(child.Rss);
        PluginMemory.AddRange(child.PluginMemory);
    }
}
