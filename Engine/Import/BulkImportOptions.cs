namespace Engine;

/// <summary>
/// Tuning of <see cref="StoreNamespace.BulkImport(IEnumerable{KeyValuePair{byte[], byte[]}}, BulkImportOptions?, IProgress{BulkImportProgress}?, CancellationToken)"/>.
/// The defaults suit most imports; lower <see cref="MemoryBudgetBytes"/> in memory-constrained processes.
/// </summary>
public sealed record BulkImportOptions
{
    /// <summary>Default of <see cref="MemoryBudgetBytes"/>: 64 MiB.</summary>
    public const long DefaultMemoryBudgetBytes = 64L << 20;

    /// <summary>Smallest accepted <see cref="MemoryBudgetBytes"/>: 256 KiB.</summary>
    public const long MinMemoryBudgetBytes = 256L << 10;

    /// <summary>Largest accepted <see cref="MemoryBudgetBytes"/>: 1 GiB.</summary>
    public const long MaxMemoryBudgetBytes = 1L << 30;

    /// <summary>
    /// Memory the import may use for entries it holds (default 64 MiB). Input beyond it is sorted in
    /// runs of about this size that are spilled to encrypted temp files and merged later; the merge reads
    /// those runs back in blocks that together stay within the same budget. One entry larger than the
    /// budget is still accepted (it forms a run of its own).
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = DefaultMemoryBudgetBytes;

    /// <summary>Target size of each SST file (bounds how long one step holds the store's gate).</summary>
    internal long SstTargetBytes { get; init; } = 64L << 20;

    /// <summary>Smallest block the merge reads from a spilled run; with the budget it bounds the merge fan-in.</summary>
    internal int MinReadBlockBytes { get; init; } = 64 << 10;

    /// <summary>LZ4-compress spilled blocks before they are encrypted (off only to test the stored path).</summary>
    internal bool CompressSpills { get; init; } = true;

    internal void Validate()
    {
        if (MemoryBudgetBytes is < MinMemoryBudgetBytes or > MaxMemoryBudgetBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryBudgetBytes), MemoryBudgetBytes,
                $"MemoryBudgetBytes must be between {MinMemoryBudgetBytes} and {MaxMemoryBudgetBytes}.");
        }
        if (SstTargetBytes < 4096 || MinReadBlockBytes < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(SstTargetBytes), "SstTargetBytes and MinReadBlockBytes must be at least 4096.");
        }
    }
}
