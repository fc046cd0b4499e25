namespace Engine;

/// <summary>What a bulk import is doing; see <see cref="BulkImportProgress.Phase"/>.</summary>
public enum BulkImportPhase
{
    /// <summary>Reading and validating input entries into the in-memory buffer.</summary>
    Reading = 0,

    /// <summary>A full buffer was sorted and spilled as a run to encrypted temp files.</summary>
    Spilling = 1,

    /// <summary>An intermediate merge pass combined runs into longer runs (only when there are too many runs to merge at once).</summary>
    Merging = 2,

    /// <summary>The final merge writes deduplicated entries, in key order, into SST files.</summary>
    WritingSsts = 3,

    /// <summary>The SST files are being ingested into the namespace in one atomic step.</summary>
    Ingesting = 4,

    /// <summary>The import is visible and every temp file is gone.</summary>
    Completed = 5,
}

/// <summary>
/// A progress report of a bulk import. Counters are cumulative since the import started.
/// </summary>
/// <param name="Phase">What the import is doing now.</param>
/// <param name="EntriesRead">Input entries read so far (duplicates included).</param>
/// <param name="BytesRead">Key and value bytes of the entries read so far.</param>
/// <param name="RunsSpilled">Sorted runs written to temp files (0 when the input fits in the memory budget).</param>
/// <param name="SpillBytes">Bytes of serialized runs written to temp files, intermediate merge passes included.</param>
/// <param name="EntriesWritten">Distinct keys written to SST files so far.</param>
/// <param name="SstFiles">SST files written so far.</param>
/// <param name="SstBytes">Bytes of the SST files written so far (logical, before encryption).</param>
public readonly record struct BulkImportProgress(
    BulkImportPhase Phase,
    long EntriesRead,
    long BytesRead,
    int RunsSpilled,
    long SpillBytes,
    long EntriesWritten,
    int SstFiles,
    long SstBytes);
