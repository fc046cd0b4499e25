namespace Engine.Files;

/// <summary>
/// The store directory on disk where no env is involved: the few steps that run before a session has an
/// env (creating the root, checking it can hold a new store, removing what a crashed import left), after
/// the store is gone (destroy, undoing a failed create), or that clean up plain directories and
/// best-effort leftovers RocksDB never owned. Every <see cref="System.IO"/> call of the engine on the
/// store directory is here, so the one owner of the store's files stays this class.
/// </summary>
internal sealed partial class StoreFiles
{
    /// <summary>What a path that should become a store root holds now.</summary>
    public enum RootState
    {
        /// <summary>Nothing exists at the path.</summary>
        Missing,

        /// <summary>An empty directory.</summary>
        Empty,

        /// <summary>A directory with entries in it.</summary>
        NotEmpty,

        /// <summary>A file (or anything that is not a directory).</summary>
        NotADirectory,
    }

    /// <summary>What <paramref name="root"/> holds now, so a create can refuse to write over existing files.</summary>
    /// <exception cref="IOException">The directory exists and cannot be listed.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be read.</exception>
    public static RootState InspectRoot(string root)
    {
        if (File.Exists(root))
        {
            return RootState.NotADirectory;
        }
        if (!Directory.Exists(root))
        {
            return RootState.Missing;
        }
        return Directory.EnumerateFileSystemEntries(root).Any() ? RootState.NotEmpty : RootState.Empty;
    }

    /// <summary>True when <paramref name="root"/> is an existing directory (a store root or not).</summary>
    public static bool RootExists(string root) => Directory.Exists(root);

    /// <summary>
    /// Creates a directory of the store (and missing parents) readable by the owner only (0700,
    /// whatever the umask), as the plugin does for the directories RocksDB creates.
    /// </summary>
    /// <exception cref="IOException">The directory cannot be created.</exception>
    public static void CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(path, ownerOnly);
        // Also when it (or the store's ns/ above it) already existed with another mode.
        File.SetUnixFileMode(path, ownerOnly);
        string? parent = Path.GetDirectoryName(path);
        if (parent is not null && Path.GetFileName(parent) == StoreLayout.NamespacesDir)
        {
            File.SetUnixFileMode(parent, ownerOnly);
        }
    }

    /// <summary>
    /// Creates the root of a new store (0700, with its missing parents) and returns the directories this
    /// call created, deepest first, so that a failed create can remove exactly those
    /// (<see cref="UndoCreateOnDisk"/>).
    /// </summary>
    /// <exception cref="IOException">The directory cannot be created.</exception>
    public static IReadOnlyList<string> CreateStoreRoot(string root)
    {
        var created = new List<string>();
        for (string? dir = root; dir is not null && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir))
        {
            created.Add(dir);
        }
        CreateOwnerOnlyDirectory(root);
        return created;
    }

    /// <summary>
    /// Undoes a failed create on disk: with <paramref name="wroteFiles"/> (the create wrote its key
    /// registry, so everything in <paramref name="root"/> is its own) deletes the root's contents; then
    /// removes the directories <see cref="CreateStoreRoot"/> made, deepest first, each only while empty.
    /// A root that existed before is left in place (empty).
    /// </summary>
    /// <exception cref="IOException">An entry could not be deleted.</exception>
    /// <exception cref="UnauthorizedAccessException">An entry may not be deleted.</exception>
    public static void UndoCreateOnDisk(string root, IReadOnlyList<string> createdDirectories, bool wroteFiles)
    {
        if (wroteFiles && Directory.Exists(root))
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(root))
            {
                if (Directory.Exists(entry))
                {
                    DeleteTreeOnDisk(entry);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }
        foreach (string dir in createdDirectories)
        {
            if (!Directory.Exists(dir) || Directory.EnumerateFileSystemEntries(dir).Any())
            {
                return; // not ours alone any more: keep it and what is above it
            }
            Directory.Delete(dir);
        }
    }

    /// <summary>
    /// Deletes <paramref name="dir"/> and everything under it on disk; a missing directory is not an
    /// error. For a store root once its keys are destroyed, and for what an in-memory store's env leaves
    /// on disk (empty directories).
    /// </summary>
    /// <exception cref="IOException">An entry could not be deleted.</exception>
    /// <exception cref="UnauthorizedAccessException">An entry may not be deleted.</exception>
    public static void DeleteTreeOnDisk(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // Gone meanwhile (RocksDB deletes files of a dropped namespace too).
        }
    }

    /// <summary>
    /// Deletes what <see cref="DeleteTreeOnDisk"/> deletes, best effort: for leftovers that a later open
    /// or import removes again (import staging, spilled chunks), where failing the caller would help nobody.
    /// </summary>
    /// <returns>False when something could not be deleted.</returns>
    public static bool TryDeleteTreeOnDisk(string dir)
    {
        try
        {
            DeleteTreeOnDisk(dir);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes one file on disk, best effort; a missing file is not an error. For spilled import chunks
    /// once read: the store deletes whatever is left under <c>tmp/</c> at close, lock and open anyway.
    /// </summary>
    public static void TryDeleteFileOnDisk(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort (see above).
        }
    }

    /// <summary>
    /// Deletes files on disk that are not RocksDB's (legacy marker files) and makes the deletion durable;
    /// missing ones are skipped.
    /// </summary>
    /// <exception cref="IOException">A file could not be deleted or the directory not synced.</exception>
    public static void DeleteFilesOnDiskDurably(string directory, params string[] paths)
    {
        bool deleted = false;
        foreach (string path in paths)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
                deleted = true;
            }
        }
        if (deleted)
        {
            Crypto.DurableIo.SyncDirectory(directory);
        }
    }

    /// <summary>Makes the deletions in an existing <paramref name="directory"/> durable; a missing one is skipped.</summary>
    /// <exception cref="IOException">The directory could not be synced.</exception>
    public static void SyncDirectoryOnDisk(string directory)
    {
        if (Directory.Exists(directory))
        {
            Crypto.DurableIo.SyncDirectory(directory);
        }
    }

    /// <summary>
    /// Sub-directories of <paramref name="dir"/> on disk whose names start with <paramref name="prefix"/>
    /// (empty prefix: all), sorted; none when it does not exist. For directories the engine makes itself
    /// (import staging) and the namespace directories holding them.
    /// </summary>
    /// <exception cref="IOException">The directory exists and cannot be listed.</exception>
    public static IReadOnlyList<string> DirectoriesOnDisk(string dir, string prefix = "") =>
        Directory.Exists(dir)
            ? [.. Directory.EnumerateDirectories(dir, prefix + "*").Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// Files of <paramref name="dir"/> on disk whose names end with <paramref name="suffix"/>, sorted; none
    /// when it does not exist. For files no env wrote (marker files of earlier versions).
    /// </summary>
    /// <exception cref="IOException">The directory exists and cannot be listed.</exception>
    public static IReadOnlyList<string> FilesOnDisk(string dir, string suffix) =>
        Directory.Exists(dir)
            ? [.. Directory.EnumerateFiles(dir, "*" + suffix).Order(StringComparer.Ordinal)]
            : [];
}
