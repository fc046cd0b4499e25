using Engine.Files;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>As <see cref="Verify(CancellationToken)"/>, not cancellable.</summary>
    /// <exception cref="IntegrityException">At least one file failed; the message lists every failing file.</exception>
    public VerifyReport Verify() => Verify(CancellationToken.None);

    /// <summary>
    /// Reads and authenticates every frame of every file of the store (SSTs of all namespaces, WALs,
    /// MANIFEST, OPTIONS, CURRENT, IDENTITY, info LOGs), on disk or in memory.
    /// </summary>
    /// <returns>The files checked, when all of them authenticate.</returns>
    /// <exception cref="IntegrityException">At least one file failed; the message lists every failing file.</exception>
    /// <exception cref="KeyUnavailableException">A file's key cannot be obtained.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled (checked before each file).</exception>
    /// <param name="ct">Stops the verification between files.</param>
    public VerifyReport Verify(CancellationToken ct)
    {
        using System.Diagnostics.Activity? activity = _telemetry.StartActivity("engine.store.verify");
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            VerifyReport report = VerifyFiles(ct);
            activity?.SetTag("engine.verify.files", report.FileCount);
            double elapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Diagnostics.EngineLog.VerifyCompleted(_telemetry.Logger, _telemetry.StoreId, report.FileCount, report.LogicalBytes, elapsedMs);
            return report;
        }
        catch (Exception ex)
        {
            Diagnostics.StoreTelemetry.Fail(activity, ex);
            throw;
        }
    }

    private VerifyReport VerifyFiles(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return Run(session =>
        {
            var checkedFiles = new List<VerifiedFile>();
            var failures = new List<(string Path, EngineException Error)>();
            using StoreFiles files = StoreFiles.Open(session);
            // Only SSTs RocksDB counts as live: a compaction output still being written has no
            // final frame yet, and an obsolete SST awaiting deletion holds nothing RocksDB reads.
            HashSet<string> liveSsts = LiveSstNames(session);
            foreach (string file in files.AllFiles(_layout))
            {
                ct.ThrowIfCancellationRequested();
                bool isSst = file.EndsWith(".sst", StringComparison.Ordinal);
                if (isSst && !liveSsts.Contains(System.IO.Path.GetFileName(file)))
                {
                    continue;
                }
                try
                {
                    // A file RocksDB is appending to (live WAL, MANIFEST, info LOG) is checked up to
                    // its last stable frame by the plugin, so a failure is real and reported at once.
                    checkedFiles.Add(files.Verify(file));
                }
                catch (IntegrityException ex) when (isSst && !LiveSstNames(session).Contains(System.IO.Path.GetFileName(file)))
                {
                    _ = ex; // compacted away while we read it: no longer live
                }
                catch (IntegrityException ex)
                {
                    failures.Add((file, ex));
                    _telemetry.IntegrityFailure(ex.Path is null ? new IntegrityException(ex.Message, file, ex.Offset) : ex);
                }
                catch (EngineException ex) when (!files.Exists(file))
                {
                    // RocksDB deleted an obsolete file while we were reading it.
                    _ = ex;
                }
            }
            if (failures.Count > 0)
            {
                string list = string.Join("; ", failures.Select(f => f.Error.Message));
                throw new IntegrityException($"Verify found {failures.Count} file(s) failing authentication: {list}", failures[0].Path);
            }
            return new VerifyReport(checkedFiles);
        });
    }

    private static HashSet<string> LiveSstNames(StoreSession session) =>
        session.Db.GetLiveFileNames().Select(n => System.IO.Path.GetFileName(n)).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every file written through the plugin: the store root and each namespace directory.</summary>
    internal IReadOnlyList<string> PluginFiles() => Run(session =>
    {
        using StoreFiles files = Files.StoreFiles.Open(session);
        return files.AllFiles(_layout);
    });
}
