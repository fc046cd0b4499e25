namespace Engine.Bench.Workloads;

/// <summary>The workloads of the macro runner, in report order, with what each one measures.</summary>
internal static class Catalog
{
    public const string FillSeq = "fillseq";
    public const string FillRandom = "fillrandom";
    public const string FillBatch = "fillrandom-batch";
    public const string Overwrite = "overwrite";
    public const string ReadRandomWarm = "readrandom-warm";
    public const string ReadRandomCold = "readrandom-cold";
    public const string ReadSeq = "readseq";
    public const string SeekRandom = "seekrandom";
    public const string Mixed = "mixed-90-10";
    public const string FlushCompact = "flush-compact";

    public static readonly IReadOnlyList<(string Name, string Description)> All =
    [
        (FillSeq, "N single puts, ascending keys, empty store"),
        (FillRandom, "N single puts, keys in random order, empty store"),
        (FillBatch, "N puts in write batches (--batch, default 100), random order, empty store; ops = entries"),
        (Overwrite, "N single puts to random existing keys (after the read phases)"),
        (ReadRandomWarm, "random gets after full compaction, block cache warmed by readseq and large enough for all data"),
        (ReadRandomCold, "random gets after reopening with a fresh 1 MiB block cache (almost every read decrypts a block)"),
        (ReadSeq, "full scan in key order, right after compaction (cold block cache); ops = entries"),
        (SeekRandom, "seek to a random key and read 10 entries, new iterator each time; ops = seeks"),
        (Mixed, "90% random gets, 10% random puts, warm cache"),
        (FlushCompact, "flush memtables and compact fully after fillrandom; ops/s = entries / seconds"),
    ];

    public static int Order(string name)
    {
        for (int i = 0; i < All.Count; i++)
        {
            if (All[i].Name == name)
            {
                return i;
            }
        }
        return int.MaxValue;
    }
}
