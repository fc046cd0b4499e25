using System.Diagnostics;
using System.Security.Cryptography;
using Engine.Crypto;
using Engine.Files;
using RocksDbSharp;

namespace Engine.Moves;

/// <summary>
/// Exports a namespace for a move to another store without decrypting its data (docs/format.md,
/// "Namespace export"): flush, hold off file deletions, copy the ciphertext of its live SSTs, re-wrap
/// each copy's header DEK from the namespace KEK to a fresh transfer KEK, then write the manifest
/// (sealed under the transfer KEK, which is wrapped by the target's CMEK) last.
/// </summary>
internal static class NamespaceExporter
{
    public static async Task<NamespaceExportResult> ExportAsync(EncryptedStore store, string name, string directory, ICmekProvider targetCmek, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targetCmek);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        EncryptedStore.ValidateNamespaceName(name);
        MoveFiles.ThrowIfInMemory(store);
        store.ThrowIfReadOnly("Exporting a namespace (it flushes the namespace first)");
        if (!store.TryGetNamespace(name, out StoreNamespace? ns))
        {
            throw new ArgumentException($"The store has no namespace '{name}'.", nameof(name));
        }

        var clock = Stopwatch.StartNew();
        string dir = Path.GetFullPath(directory);
        bool createdDir = PrepareDirectory(dir);
        var written = new List<string>();
        bool done = false;
        try
        {
            using TransferKey transfer = TransferKey.Generate();
            byte[] wrapped = await transfer.WrapForAsync(targetCmek, ct).ConfigureAwait(false);
            ExportManifest manifest = store.Run(session => CopyAndRewrap(store, session, ns, dir, transfer, written, ct));
            ct.ThrowIfCancellationRequested();
            byte[] file = manifest.Seal(transfer, targetCmek.Uri, wrapped);
            string manifestPath = Path.Combine(dir, ExportManifest.FileName);
            written.Add(manifestPath);
            MoveFiles.WriteDurably(manifestPath, file);
            done = true;
            return new NamespaceExportResult(name, dir, manifest.Files.Count, manifest.Files.Sum(f => f.PhysicalSize), clock.Elapsed);
        }
        finally
        {
            if (!done)
            {
                foreach (string path in written)
                {
                    StoreFiles.TryDeleteFileOnDisk(path);
                }
                if (createdDir)
                {
                    StoreFiles.TryDeleteTreeOnDisk(dir);
                }
            }
        }
    }

    /// <summary>True when it created the directory; refuses one that holds anything.</summary>
    private static bool PrepareDirectory(string dir)
    {
        if (File.Exists(dir))
        {
            throw new ArgumentException($"The export target {dir} is a file; give a new or empty directory.", nameof(dir));
        }
        if (Directory.Exists(dir))
        {
            if (Directory.EnumerateFileSystemEntries(dir).Any())
            {
                throw new ArgumentException($"The export directory {dir} is not empty; give a new or empty directory.", nameof(dir));
            }
            return false;
        }
        StoreFiles.CreateOwnerOnlyDirectory(dir);
        return true;
    }

    private static ExportManifest CopyAndRewrap(EncryptedStore store, StoreSession session, StoreNamespace ns, string dir, TransferKey transfer, List<string> written, CancellationToken ct)
    {
        ColumnFamilyHandle cf = session.HandleOf(ns.Info);
        FlushOptions flush = new FlushOptions().SetWaitForFlush(true);
        Native.Instance.rocksdb_flush_cf(session.Db.Handle, flush.Handle, cf.Handle);
        if (MoveNative.IngestedFiles(session.Db.Handle, cf.Handle) > 0)
        {
            // A bulk-imported file's sequence number lives only in the MANIFEST (the plugin refuses
            // RocksDB's in-place write of it), and RocksDB 7.8.3's import reads its keys at sequence
            // 0: over an older file of the same key it would lose to the older value. A forced
            // compaction rewrites the namespace into ordinary files first (under new DEKs).
            LiveSstFiles.CompactForced(session.Db, cf, null, null);
            uint left = MoveNative.IngestedFiles(session.Db.Handle, cf.Handle);
            if (left > 0)
            {
                throw new EngineException($"namespace '{ns.Name}': {left} bulk-imported file(s) remain after a full compaction; the export would not read back as the source does");
            }
        }

        // From here until the copies are done, RocksDB deletes no file: a compaction may replace the
        // listed SSTs, but the listed ones stay on disk and form one consistent version.
        string comparator;
        IReadOnlyList<LiveSst> files;
        var sourceOfCopy = new Dictionary<string, string>(StringComparer.Ordinal);
        MoveNative.SetFileDeletions(session.Db.Handle, enabled: false);
        try
        {
            (comparator, files) = LiveFileList.Parse(MoveNative.LiveFiles(session.Db.Handle, cf.Handle));
            foreach (LiveSst f in files)
            {
                ct.ThrowIfCancellationRequested();
                string copy = Path.Combine(dir, f.Name);
                written.Add(copy);
                MoveFiles.CopyFile(f.FullPath, copy, expectedSha256: null);
                sourceOfCopy[copy] = f.FullPath;
            }
        }
        finally
        {
            MoveNative.SetFileDeletions(session.Db.Handle, enabled: true);
        }

        // Only the header slot changes: the frames stay the source's ciphertext byte for byte.
        var keys = new ExportHeaderKeys(session.FileKeys, transfer, sourceOfCopy);
        var exported = new List<ExportedSst>(files.Count);
        foreach (LiveSst f in files)
        {
            ct.ThrowIfCancellationRequested();
            string copy = Path.Combine(dir, f.Name);
            MoveNative.Rewrap(session.Env, copy, keys);
            (byte[] sha, long length) = MoveFiles.HashFile(copy);
            exported.Add(new ExportedSst(f.Name, f.Level, f.Size, length, f.SmallestSeqno, f.LargestSeqno, f.SmallestKey, f.LargestKey, sha));
        }
        StoreFiles.SyncDirectoryOnDisk(dir);
        return new ExportManifest(store.StoreId, ns.Name, comparator, exported);
    }
}

/// <summary>File steps shared by export and import (raw ciphertext copies, hashes, durable writes).</summary>
internal static class MoveFiles
{
    private const int CopyBuffer = 1 << 20;

    public static void ThrowIfInMemory(EncryptedStore store)
    {
        if (store.Options.InMemory || store.Options.MemoryFileSystem is not null)
        {
            throw new NotSupportedException("Namespace moves copy files on disk; an in-memory store cannot export or import a namespace.");
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> byte for byte (ciphertext) into a new file (.NET File.Copy: a reflink where the file system has one,
    /// else the kernel's sendfile: no user-space buffer), fsyncs it, and hashes the copy; with
    /// <paramref name="expectedSha256"/> the copy must hash to it (checked on the bytes that were
    /// written, so a source swapped after an earlier check is still caught).
    /// </summary>
    /// <returns>SHA-256 and length of the copy.</returns>
    /// <exception cref="IntegrityException">The copy does not match <paramref name="expectedSha256"/>.</exception>
    public static (byte[] Sha256, long Length) CopyFile(string source, string destination, byte[]? expectedSha256)
    {
        File.Copy(source, destination, overwrite: false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(destination, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        using (var output = new FileStream(destination, FileMode.Open, FileAccess.ReadWrite))
        {
            output.Flush(flushToDisk: true);
        }
        (byte[] sha, long length) = HashFile(destination);
        if (expectedSha256 is not null && !CryptographicOperations.FixedTimeEquals(sha, expectedSha256))
        {
            throw new IntegrityException($"{source}: the file's bytes do not match the export manifest (altered or replaced)", source);
        }
        return (sha, length);
    }

    /// <summary>SHA-256 and length of a file.</summary>
    public static (byte[] Sha256, long Length) HashFile(string path)
    {
        // Synchronous reads (page cache, SHA-NI): per-chunk thread-pool hops cost more than the hashing.
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBuffer, FileOptions.SequentialScan);
        return (SHA256.HashData(input), input.Length);
    }

    /// <summary>Options for a new file readable and writable by its owner only (0600), as every store file.</summary>
    private static FileStreamOptions OwnerOnly(FileMode mode, FileOptions fileOptions)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Options = fileOptions };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return options;
    }

    /// <summary>Writes a new file through a temp name, fsynced, renamed, directory fsynced.</summary>
    public static void WriteDurably(string path, byte[] content)
    {
        string dir = Path.GetDirectoryName(path)!;
        string tmp = path + ".tmp";
        FileStreamOptions options = OwnerOnly(FileMode.Create, FileOptions.None);
        using (var output = new FileStream(tmp, options))
        {
            output.Write(content);
            output.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: false);
        StoreFiles.SyncDirectoryOnDisk(dir);
    }
}
