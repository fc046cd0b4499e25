using Engine.Crypto;
using Engine.Files;

namespace Engine.Backup;

/// <summary>
/// A backup directory on disk (docs/backup.md, "Layout"): <c>backup-NNNNNN.manifest</c> per backup
/// (sealed, written last), <c>backup-NNNNNN/</c> with its own files (registry copy, MANIFEST,
/// CURRENT, OPTIONS, WALs, record of log files), <c>shared/&lt;ns&gt;/</c> with SSTs shared by
/// backups, and <c>LOCK</c>, held by the one writer.
/// </summary>
internal sealed class BackupDirectory : IDisposable
{
    public const string LockName = "LOCK";
    public const string SharedName = "shared";
    internal const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly FileStream _lock;

    private BackupDirectory(string root, FileStream lockFile)
    {
        Root = root;
        _lock = lockFile;
    }

    public string Root { get; }

    /// <summary>Creates the directory (0700) if missing and takes its writer lock.</summary>
    /// <exception cref="StoreInUseException">Another backup is being written into it.</exception>
    /// <exception cref="IOException">The directory cannot be created or locked.</exception>
    public static BackupDirectory OpenForWriting(string root)
    {
        if (File.Exists(root))
        {
            throw new IOException($"{root} is a file, not a backup directory.");
        }
        CreatePrivateDirectory(root);
        string path = Path.Combine(root, LockName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix.
            var stream = new FileStream(path, CreateOptions(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return new BackupDirectory(root, stream);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new StoreInUseException($"The backup directory {root} is being written by another backup.", root, e);
        }
    }

    /// <summary>The next backup id: one above every manifest and backup directory present (ids are not reused).</summary>
    public long NextId()
    {
        long max = 0;
        foreach (string entry in Directory.EnumerateFileSystemEntries(Root, "backup-*"))
        {
            string name = Path.GetFileName(entry);
            if (name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                name = name[..^4];
            }
            if (BackupManifest.TryParseName(name.EndsWith(BackupManifest.Suffix, StringComparison.Ordinal) ? name : name + BackupManifest.Suffix, out long id))
            {
                max = Math.Max(max, id);
            }
        }
        return max + 1;
    }

    /// <summary>Writes the sealed manifest through a temp name, synced, renamed, directory synced.</summary>
    public void PublishManifest(long id, byte[] sealedManifest)
    {
        string final = Path.Combine(Root, BackupManifest.DirectoryName(id) + BackupManifest.Suffix);
        string temp = final + ".tmp";
        WriteFile(temp, sealedManifest);
        File.Move(temp, final, overwrite: false);
        DurableIo.SyncDirectory(Root);
    }

    /// <summary>Manifest files present, by id (not authenticated).</summary>
    public static SortedDictionary<long, string> Manifests(string root)
    {
        var result = new SortedDictionary<long, string>();
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The backup directory {root} does not exist.");
        }
        foreach (string path in Directory.EnumerateFiles(root, "backup-*" + BackupManifest.Suffix))
        {
            if (BackupManifest.TryParseName(Path.GetFileName(path), out long id))
            {
                result[id] = path;
            }
        }
        return result;
    }

    public static void CreatePrivateDirectory(string path) => StoreFiles.CreateOwnerOnlyDirectory(path);

    /// <summary>Writes a small file (0600) and syncs it.</summary>
    public static void WriteFile(string path, byte[] data) => DurableIo.WriteAndSync(path, data, FileMode.Create, FileMode0600);

    /// <summary>Makes the new names durable: the backup's own directory, the shared directories written, the root.</summary>
    public static void SyncDirectories(string root, string privateDir, IEnumerable<string> sharedFiles)
    {
        DurableIo.SyncDirectory(privateDir);
        foreach (string? dir in sharedFiles.Select(Path.GetDirectoryName).Distinct(StringComparer.Ordinal))
        {
            DurableIo.SyncDirectory(dir!);
        }
        string shared = Path.Combine(root, SharedName);
        if (Directory.Exists(shared))
        {
            DurableIo.SyncDirectory(shared);
        }
        DurableIo.SyncDirectory(root);
    }

    /// <summary>Options for a file this code creates: owner-only (0600) whatever the umask.</summary>
    public static FileStreamOptions CreateOptions(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 1 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode0600;
        }
        return options;
    }

    public void Dispose() => _lock.Dispose();
}
