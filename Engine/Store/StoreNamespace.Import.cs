using Engine.Import;

namespace Engine;

public sealed partial class StoreNamespace
{
    /// <summary>
    /// Imports <paramref name="entries"/> into this namespace in one atomic step: afterwards every key
    /// holds its value from the input, before nothing of the input is visible. Meant for loads much larger
    /// than <see cref="Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool?)"/> handles well, and for input
    /// larger than memory.
    /// </summary>
    /// <remarks>
    /// <para>The input may be in any order and may repeat keys: keys are ordered bytewise and, for a key
    /// given several times, the <b>last</b> entry in the input wins. Entries are copied as they are read,
    /// so the caller may reuse its arrays.</para>
    /// <para>How: entries are buffered up to <see cref="BulkImportOptions.MemoryBudgetBytes"/>, sorted, and
    /// spilled as runs to temp files under the store's <c>tmp/</c> directory, encrypted with this open's
    /// per-boot ephemeral key (unreadable once the process ends or the store closes or locks); the runs are
    /// merged (the newest run wins among duplicates) into SST files written through the encrypted file
    /// system into the namespace's own directory, under its key; finally all SST files are ingested with one
    /// RocksDB call. Temp files are deleted as soon as they are merged, and all of them when the import
    /// fails or is cancelled. Input that fits in the budget never touches a temp file.</para>
    /// <para>Ingested values replace existing values of the same keys (they are newer than every write made
    /// before the ingest); keys not in the input are left alone. The ingest flushes the memtable first when
    /// it overlaps the imported keys.</para>
    /// <para>Locks and crashes: nothing is visible until the final ingest, which is atomic. The import never
    /// holds the store's gate while it waits for the input or a progress handler; each step that uses the
    /// store (writing one temp chunk, writing one SST file, the ingest) is short and bounded, and stops when
    /// the store starts locking. If the store locks during the import, the import fails with
    /// <see cref="StoreLockedException"/> (also when the store has unlocked again meanwhile: the lock
    /// destroyed the temp files' key) and has imported nothing. Staging directories left by a crash are
    /// removed by the next import into the store.</para>
    /// <para><paramref name="progress"/> is called synchronously on the importing thread, outside any store
    /// call, at phase changes, after each spilled run and SST file, and every 65,536 input entries.</para>
    /// </remarks>
    /// <param name="entries">Key-value pairs, in any order; enumerated once.</param>
    /// <param name="options">Memory budget and other tuning; null for the defaults.</param>
    /// <param name="progress">Receives progress reports; may be null.</param>
    /// <param name="ct">Cancels the import; nothing is imported and every temp file is deleted.</param>
    /// <returns>Counts and sizes of what was imported.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="entries"/> is null.</exception>
    /// <exception cref="ArgumentException">An entry has a null key or value, or one exceeding
    /// <see cref="StoreOptions.MaxKeyBytes"/> or <see cref="StoreOptions.MaxValueBytes"/> (the message names the
    /// entry's zero-based index); nothing is imported.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; nothing is imported.</exception>
    /// <exception cref="StoreLockedException">The store is locked, or locked while the import ran; nothing is imported.</exception>
    /// <exception cref="IntegrityException">A temp file or a stored file failed authentication.</exception>
    /// <exception cref="EngineException">Writing a temp or SST file, or the ingest, failed (for example a full disk).</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public BulkImportResult BulkImport(
        IEnumerable<KeyValuePair<byte[], byte[]>> entries,
        BulkImportOptions? options = null,
        IProgress<BulkImportProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _store.ThrowIfReadOnly("BulkImport");
        options ??= new BulkImportOptions();
        options.Validate();
        Diagnostics.StoreTelemetry telemetry = _store.Telemetry;
        using System.Diagnostics.Activity? activity = telemetry.StartActivity("engine.import", Name);
        Diagnostics.EngineLog.ImportStarted(telemetry.Logger, telemetry.StoreId, Name);
        try
        {
            BulkImportResult result = new BulkImporter(_store, this, options, progress, ct).Run(entries);
            activity?.SetTag("engine.import.keys", result.KeysImported);
            Diagnostics.EngineLog.ImportCompleted(telemetry.Logger, telemetry.StoreId, Name, result.KeysImported, result.SstBytes, result.SstFiles, result.Elapsed.TotalMilliseconds);
            return result;
        }
        catch (Exception ex)
        {
            Diagnostics.StoreTelemetry.Fail(activity, ex);
            Diagnostics.EngineLog.ImportFailed(telemetry.Logger, telemetry.StoreId, Name, ex);
            throw;
        }
    }
}
