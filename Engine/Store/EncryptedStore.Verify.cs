using Engine.Crypto;
using Engine.Interop;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>As <see cref="Verify(CancellationToken)"/>, not cancellable.</summary>
    /// <exception cref="IntegrityException">At least one file failed; the message lists every failing file.</exception>
    public VerifyReport Verify() => Verify(CancellationToken.None);

    /// <summary>
    /// Reads and authenticates every frame of every file of the store (SSTs of all namespaces, WALs,
    /// MANIFEST, OPTIONS, CURRENT, IDENTITY, info LOGs).
    /// </summary>
    /// <returns>The files checked, when all of them authenticate.</returns>
    /// <exception cref="IntegrityException">At least one file failed; the message lists every failing file.</exception>
    /// <exception cref="KeyUnavailableException">A file's key cannot be obtained.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled (checked before each file).</exception>
    /// <param name="ct">Stops the verification between files.</param>
    public VerifyReport Verify(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return Run(session =>
        {
            var checkedFiles = new List<VerifiedFile>();
            var failures = new List<(string Path, EngineException Error)>();
            // Only SSTs RocksDB counts as live: a compaction output still being written has no
            // final frame yet, and an obsolete SST awaiting deletion holds nothing RocksDB reads.
            HashSet<string> liveSsts = LiveSstNames(session);
            foreach (string file in StoreFiles())
            {
                ct.ThrowIfCancellationRequested();
                bool isSst = file.EndsWith(".sst", StringComparison.Ordinal);
                if (isSst && !liveSsts.Contains(System.IO.Path.GetFileName(file)))
                {
                    continue;
                }
                try
                {
                    checkedFiles.Add(isSst ? VerifyFile(session.Env, file) : VerifyGrowingFile(session.Env, file));
                }
                catch (IntegrityException ex) when (isSst && !LiveSstNames(session).Contains(System.IO.Path.GetFileName(file)))
                {
                    _ = ex; // compacted away while we read it: no longer live
                }
                catch (IntegrityException ex)
                {
                    failures.Add((file, ex));
                }
                catch (EngineException ex) when (!File.Exists(file))
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
    private static VerifiedFile VerifyGrowingFile(EncryptedEnvHandle env, string file)
    {
        const int Attempts = 10;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return VerifyFile(env, file);
            }
            catch (IntegrityException) when (attempt < Attempts)
            {
                Thread.Sleep(attempt);
            }
        }
    }

    private static unsafe VerifiedFile VerifyFile(EncryptedEnvHandle env, string file)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileVerify(env, file, out ulong logical, msg, NativeMethods.MessageCapacity);
        return status switch
        {
            NativeStatus.Ok => new VerifiedFile(file, (long)logical, TornTail: false),
            NativeStatus.TornTail when !IsImmutableFile(file) => new VerifiedFile(file, (long)logical, TornTail: true),
            _ => throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), file),
        };
    }

    private static HashSet<string> LiveSstNames(StoreSession session) =>
        session.Db.GetLiveFileNames().Select(n => System.IO.Path.GetFileName(n)).ToHashSet(StringComparer.Ordinal);

    private static bool IsImmutableFile(string file) => file.EndsWith(".sst", StringComparison.Ordinal) || file.EndsWith(".blob", StringComparison.Ordinal);

    /// <summary>Every file written through the plugin: the store root and each namespace directory.</summary>
    internal IEnumerable<string> StoreFiles()
    {
        var dirs = new List<string> { _layout.Root };
        string nsRoot = System.IO.Path.Combine(_layout.Root, StoreLayout.NamespacesDir);
        if (Directory.Exists(nsRoot))
        {
            dirs.AddRange(Directory.EnumerateDirectories(nsRoot));
        }
        return dirs
            .SelectMany(d => Directory.EnumerateFiles(d))
            .Where(f => IsPluginFile(System.IO.Path.GetFileName(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static bool IsPluginFile(string name) =>
        name != "LOCK" && !name.StartsWith(KeyRegistry.FileName, StringComparison.Ordinal);
}
