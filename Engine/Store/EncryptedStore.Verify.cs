using Engine.Files;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>
    /// Reads and authenticates every frame of every file of the store (SSTs of all namespaces, WALs,
    /// MANIFEST, OPTIONS, CURRENT, IDENTITY, info LOGs), on disk or in memory.
    /// </summary>
    /// <returns>The files checked, when all of them authenticate.</returns>
    /// <exception cref="IntegrityException">At least one file failed; the message lists every failing file.</exception>
    /// <exception cref="KeyUnavailableException">A file's key cannot be obtained.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public VerifyReport Verify()
    {
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
                bool immutable = StoreFiles.KindOf(file) == StoreFileKind.Immutable;
                bool isSst = file.EndsWith(".sst", StringComparison.Ordinal);
                if (isSst && !liveSsts.Contains(System.IO.Path.GetFileName(file)))
                {
                    continue;
                }
                try
                {
                    checkedFiles.Add(immutable ? files.Verify(file) : VerifyGrowingFile(files, file));
                }
                catch (IntegrityException ex) when (isSst && !LiveSstNames(session).Contains(System.IO.Path.GetFileName(file)))
                {
                    _ = ex; // compacted away while we read it: no longer live
                }
                catch (IntegrityException ex)
                {
                    failures.Add((file, ex));
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

    /// <summary>
    /// Verifies a file RocksDB may be appending to right now (the info LOG, the live WAL, the MANIFEST).
    /// A read can meet a frame while the writer rewrites it (an unsynced tail frame grows in place) and
    /// fail to authenticate it, although the writer completes it a moment later; so a failing file is
    /// read again, and only a failure that persists over several reads is reported. Tampered bytes fail
    /// every read.
    /// </summary>
    private static VerifiedFile VerifyGrowingFile(StoreFiles files, string file)
    {
        const int Attempts = 10;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return files.Verify(file);
            }
            catch (IntegrityException) when (attempt < Attempts)
            {
                Thread.Sleep(attempt);
            }
        }
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
