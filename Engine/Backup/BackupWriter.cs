using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Engine.Crypto;
using Engine.Files;

namespace Engine.Backup;

/// <summary>
/// Takes one backup of an open store (docs/backup.md, "How a backup is taken"): with the key
/// operations and namespace creation held off, copies the key registry and makes a RocksDB checkpoint
/// inside the store directory (SSTs hard-linked, so their ciphertext is unchanged; MANIFEST, CURRENT,
/// OPTIONS and WALs re-encrypted through the store's env, never decrypted to disk) plus a sealed record
/// of its log files; then, without locks, copies those ciphertext bytes into the backup directory (an
/// SST already there from an earlier backup is not copied again) and seals the manifest last.
/// </summary>
internal static class BackupWriter
{
    /// <summary>The checkpoint's directory inside the store root (system scope by its path).</summary>
    internal const string StagingName = "ekv-backup-staging";

    private const int HeaderRegion = 1024;

    /// <summary>
    /// What the frozen step captured; paths are inside the staging directory. Each file's header region
    /// (its key slots) is taken while frozen: the checkpoint hard-links the store's files, and a key
    /// rotation that starts after the freeze re-wraps the shared inode's header in place under a KEK
    /// version the registry copy does not hold. The copies get the frozen header, the frames as they are
    /// (frames are never rewritten in place).
    /// </summary>
    private sealed record Capture(byte[] Registry, List<(string Path, uint NamespaceId, byte[] Header)> Ssts, List<(string Path, byte[] Header)> SystemFiles);

    private static readonly AsyncLocal<Action<string>?> s_faultPoint = new();

    /// <summary>
    /// Test hook: called with <c>copying</c> after the freeze ends, before any file is copied. An
    /// <see cref="AsyncLocal{T}"/>: it applies to the backups the setting test's flow starts only.
    /// </summary>
    internal static Action<string>? FaultPoint
    {
        get => s_faultPoint.Value;
        set => s_faultPoint.Value = value;
    }

    public static async Task<BackupInfo> CreateAsync(EncryptedStore store, string backupDir, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDir);
        store.ThrowIfReadOnly("A backup");
        if (store.Options.InMemory)
        {
            throw new NotSupportedException("An in-memory store has no files to back up.");
        }
        string dir = Path.GetFullPath(backupDir);
        string staging = store.Path + "/" + StagingName;
        if (dir == store.Path || dir.StartsWith(store.Path + "/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"The backup directory {dir} is inside the store directory {store.Path}.", nameof(backupDir));
        }
        using BackupDirectory target = BackupDirectory.OpenForWriting(dir);
        long id = target.NextId();
        string privateDir = Path.Combine(dir, BackupManifest.DirectoryName(id));
        var copiedShared = new List<string>();
        bool done = false;
        DateTimeOffset created;
        Capture capture;
        KeyRegistry? copy = null;
        try
        {
            ct.ThrowIfCancellationRequested();
            BackupDirectory.CreatePrivateDirectory(privateDir);
            StoreFiles.TryDeleteTreeOnDisk(staging); // left by a backup that crashed: ciphertext only
            SemaphoreSlim operations = store.Keys.Operations;
            await operations.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                created = DateTimeOffset.UtcNow;
                capture = store.WithRegistryFrozen(session => Freeze(store, session, staging));
                // The registry copy must open with the store's CMEK, else the backup could never be restored.
                BackupDirectory.WriteFile(Path.Combine(privateDir, BackupManifest.RegistryCopyName), capture.Registry);
                copy = await KeyRegistry.OpenAsync(privateDir, store.CurrentCmek, ct).ConfigureAwait(false);
            }
            finally
            {
                operations.Release();
            }
            FaultPoint?.Invoke("copying");

            var files = new List<BackupFile>
            {
                new(BackupManifest.DirectoryName(id) + "/" + BackupManifest.RegistryCopyName, BackupManifest.RegistryCopyName, capture.Registry.Length, SHA256.HashData(capture.Registry), true),
            };
            foreach ((string path, byte[] header) in capture.SystemFiles)
            {
                ct.ThrowIfCancellationRequested();
                string name = Path.GetFileName(path);
                string relative = BackupManifest.DirectoryName(id) + "/" + name;
                (long size, byte[] hash) = CopyFile(path, Path.Combine(dir, relative), ct, header);
                files.Add(new BackupFile(relative, name, size, hash, true));
            }
            foreach ((string path, uint ns, byte[] header) in capture.Ssts)
            {
                ct.ThrowIfCancellationRequested();
                files.Add(CopyShared(dir, path, ns, header, copiedShared, ct));
            }

            var manifest = new BackupManifest(id, created, copy.StoreId.ToArray(), copy.Generation, copy.CurrentKekVersion(KeyScope.System), files);
            byte[] key = new byte[Aead.KeySize];
            byte[] sealedManifest;
            try
            {
                BackupManifest.DeriveKey(copy, manifest.SystemKekVersion, key);
                sealedManifest = manifest.Seal(key);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
            ct.ThrowIfCancellationRequested();
            BackupDirectory.SyncDirectories(dir, privateDir, copiedShared);
            // Last: only a backup whose manifest exists is listed, verified or restored.
            target.PublishManifest(id, sealedManifest);
            done = true;
            return BackupManifest.ReadHeader("(new)", sealedManifest).ToInfo();
        }
        finally
        {
            copy?.Dispose();
            StoreFiles.TryDeleteTreeOnDisk(staging);
            if (!done)
            {
                // Nothing half-made stays: the private directory and the shared files this attempt copied.
                StoreFiles.TryDeleteTreeOnDisk(privateDir);
                foreach (string path in copiedShared)
                {
                    StoreFiles.TryDeleteFileOnDisk(path);
                }
            }
        }
    }

    /// <summary>
    /// Runs with the registry frozen: copies KEYRING, checkpoints RocksDB into <paramref name="staging"/>,
    /// writes the staging database's sealed record of log files, and reads each SST's namespace from
    /// its header.
    /// </summary>
    private static Capture Freeze(EncryptedStore store, StoreSession session, string staging)
    {
        byte[] registry = session.Registry.CopySealedImage();
        // RocksDB's own checkpoint refuses cf_paths (one directory per namespace): the plugin does the same
        // steps keeping each SST's namespace directory (ekv_db_checkpoint).
        Checkpoint(session, store.Path, staging);

        var ssts = new List<(string, uint, byte[])>();
        var system = new List<(string, byte[])>();
        using StoreFiles files = StoreFiles.Open(session);
        // Sealed under the system KEK like the store's own: what the restored store's open checks.
        LiveLogRecord.WriteClosed(files, new StoreLayout(staging), session.Registry.Generation);
        foreach (string path in Directory.GetFiles(staging, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            byte[] header = ReadHeaderRegion(path);
            if (name.EndsWith(".sst", StringComparison.Ordinal) || name.EndsWith(".blob", StringComparison.Ordinal))
            {
                if (files.ReadHeader(path, out FileHeaderInfo info, out string? problem) != HeaderState.Ok || info.Scope.Kind != KeyScopeKind.Namespace)
                {
                    throw new IntegrityException($"{path}: a live table file of the store has no readable namespace header ({problem ?? info.Scope.ToString()})", path);
                }
                ssts.Add((path, info.Scope.NamespaceId, header));
            }
            else if (Path.GetDirectoryName(path) == staging)
            {
                system.Add((path, header));
            }
            else
            {
                throw new EngineException($"{path}: the checkpoint made a file the backup does not know");
            }
        }
        foreach (string required in new[] { "CURRENT", LiveLogRecord.FileName })
        {
            if (!system.Any(f => f.Item1.EndsWith("/" + required, StringComparison.Ordinal)))
            {
                throw new EngineException($"the checkpoint in {staging} has no {required}: no consistent copy was made");
            }
        }
        return new Capture(registry, ssts, system);
    }

    private static unsafe void Checkpoint(StoreSession session, string root, string staging) =>
        Interop.NativeCall.Check(staging, (msg, cap) => Interop.NativeMethods.DbCheckpoint(session.Db.Handle, session.Env, root, staging, msg, cap));

    /// <summary>The first <see cref="HeaderRegion"/> bytes of a file (all of it when shorter).</summary>
    private static byte[] ReadHeaderRegion(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        byte[] header = new byte[Math.Min(HeaderRegion, stream.Length)];
        stream.ReadExactly(header);
        return header;
    }

    /// <summary>Copies a staged SST (with its frozen <paramref name="header"/>) into <c>shared/&lt;ns&gt;/</c>
    /// unless an identical one is there (same namespace, file id, header bytes and size).</summary>
    private static BackupFile CopyShared(string dir, string source, uint ns, byte[] header, List<string> copiedShared, CancellationToken ct)
    {
        if (header.Length < HeaderRegion)
        {
            throw new IntegrityException($"{source}: a live table file of the store is shorter than its header", source);
        }
        long size = new FileInfo(source).Length;
        // The file id (bytes 16..31 of slot A) names the table; the header hash changes with a re-wrap,
        // whose new wrap an older registry copy may not open.
        string fileId = Convert.ToHexStringLower(header.AsSpan(16, 16));
        string headerHash = Convert.ToHexStringLower(SHA256.HashData(header).AsSpan(0, 8));
        string name = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileNameWithoutExtension(source)}-{fileId}-{headerHash}-{size}{Path.GetExtension(source)}");
        string relative = string.Create(CultureInfo.InvariantCulture, $"shared/{ns}/{name}");
        string restoreName = string.Create(CultureInfo.InvariantCulture, $"{StoreLayout.NamespacesDir}/{ns}/{Path.GetFileName(source)}");
        string destination = Path.Combine(dir, relative);
        if (File.Exists(destination) && new FileInfo(destination).Length == size)
        {
            // Shared with an earlier backup: hash what the store has (verify compares the copy with it).
            return new BackupFile(relative, restoreName, size, HashFile(source, ct, header), false);
        }
        BackupDirectory.CreatePrivateDirectory(Path.GetDirectoryName(destination)!);
        (long copied, byte[] hash) = CopyFile(source, destination, ct, header, () => copiedShared.Add(destination));
        return new BackupFile(relative, restoreName, copied, hash, true);
    }

    /// <summary>
    /// Copies bytes as they are (ciphertext) through a temp name, hashing them; syncs the copy. With
    /// <paramref name="header"/>, the copy starts with those bytes instead of the source's first ones.
    /// </summary>
    internal static (long Size, byte[] Sha256) CopyFile(string source, string destination, CancellationToken ct, byte[]? header = null, Action? onCreated = null)
    {
        string temp = destination + ".tmp";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        long total = 0;
        try
        {
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
            using (var output = new FileStream(temp, BackupDirectory.CreateOptions(FileMode.Create, FileAccess.Write, FileShare.None)))
            {
                int read;
                while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    Overlay(header, total, buffer.AsSpan(0, read));
                    hash.AppendData(buffer, 0, read);
                    output.Write(buffer, 0, read);
                    total += read;
                }
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, destination, overwrite: true);
            onCreated?.Invoke();
            return (total, hash.GetHashAndReset());
        }
        catch
        {
            StoreFiles.TryDeleteFileOnDisk(temp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Replaces the bytes of <paramref name="chunk"/> (at file offset <paramref name="offset"/>) that <paramref name="header"/> covers.</summary>
    private static void Overlay(byte[]? header, long offset, Span<byte> chunk)
    {
        if (header is not null && offset < header.Length)
        {
            int n = (int)Math.Min(header.Length - offset, chunk.Length);
            header.AsSpan((int)offset, n).CopyTo(chunk);
        }
    }

    internal static byte[] HashFile(string path, CancellationToken ct, byte[]? header = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            int read;
            long total = 0;
            while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                Overlay(header, total, buffer.AsSpan(0, read));
                hash.AppendData(buffer, 0, read);
                total += read;
            }
            return hash.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
