namespace Engine;

/// <summary>What a completed bulk import did.</summary>
/// <param name="EntriesRead">Input entries read, duplicates included.</param>
/// <param name="KeysImported">Distinct keys ingested (each key's last value in the input).</param>
/// <param name="RunsSpilled">Sorted runs spilled to encrypted temp files (0 when the input fit in memory).</param>
/// <param name="MergePasses">Merge passes over spilled data, the final one into SST files included.</param>
/// <param name="SpillBytes">Bytes of serialized runs written to temp files over all passes.</param>
/// <param name="SstFiles">SST files ingested.</param>
/// <param name="SstBytes">Bytes of the ingested SST files (logical, before encryption).</param>
/// <param name="Elapsed">Wall time of the whole import.</param>
public sealed record BulkImportResult(
    long EntriesRead,
    long KeysImported,
    int RunsSpilled,
    int MergePasses,
    long SpillBytes,
    int SstFiles,
    long SstBytes,
    TimeSpan Elapsed)
{
    /// <summary>Input entries dropped because a later entry had the same key.</summary>
    public long DuplicatesDropped => EntriesRead - KeysImported;
}
