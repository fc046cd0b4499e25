using System.Collections.Concurrent;
using System.Globalization;
using RocksDbSharp;

namespace Engine.Import;

/// <summary>
/// Writes the merged entries of an import into SST files through the encrypted env, in a staging
/// directory inside the namespace's directory (<c>ns/&lt;id&gt;/import-&lt;id&gt;/</c>: same key scope, so the
/// plugin wraps their data keys with the namespace's KEK), then ingests them all in one atomic step.
/// </summary>
/// <remarks>
/// Why a sub-directory rather than <c>ns/&lt;id&gt;/</c> itself: files RocksDB does not own must not sit
/// among its SSTs (a crash would leave a half-written, never-closed <c>.sst</c> there that
/// <see cref="EncryptedStore.Verify()"/> would report as truncated), and a directory is easy to recognise and
/// remove when a crash left it behind. Ingestion hard-links each file into <c>ns/&lt;id&gt;/</c> (same file
/// system, same key scope) and RocksDB removes the staged name afterwards.
/// </remarks>
internal sealed class SstStage
{
    internal const string DirectoryPrefix = "import-";

    /// <summary>Staging directories of imports running in this process; all others are left-overs of a crash.</summary>
    private static readonly ConcurrentDictionary<string, byte> s_active = new(StringComparer.Ordinal);

    private readonly string _directory;
    private readonly long _targetBytes;
    private readonly List<string> _files = [];
    private bool _started;
    private bool _pending;

    public SstStage(string namespaceDirectory, Guid importId, long targetBytes)
    {
        _directory = Path.Combine(namespaceDirectory, DirectoryPrefix + importId.ToString("N"));
        _targetBytes = targetBytes;
        s_active[_directory] = 0;
    }

    public IReadOnlyList<string> Files => _files;

    public long Entries { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>
    /// Writes one SST file of about the target size from <paramref name="cursor"/> (one step inside the
    /// gate). Returns true while entries remain for another file.
    /// </summary>
    public unsafe bool WriteSst(IRunCursor cursor, StoreSession session, Action checkAbort)
    {
        if (!_started)
        {
            _started = true;
            _pending = cursor.MoveNext(session.Env);
        }
        if (!_pending)
        {
            return false;
        }
        Engine.Files.StoreFiles.CreateOwnerOnlyDirectory(_directory);
        string path = Path.Combine(_directory, (_files.Count + 1).ToString("D6", CultureInfo.InvariantCulture) + ".sst");
        var ioOptions = new ColumnFamilyOptions();
        Native.Instance.rocksdb_options_set_env(ioOptions.Handle, session.Env.RocksDbEnv);
        using var writer = new SstFileWriter(new EnvOptions(), ioOptions);
        _files.Add(path); // before Open: a failed write is still cleaned up
        writer.Open(path);
        ulong size = 0;
        long entries = 0;
        while (_pending)
        {
            ReadOnlySpan<byte> key = cursor.Key;
            ReadOnlySpan<byte> value = cursor.Value;
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                Native.Instance.rocksdb_sstfilewriter_put(writer.Handle, k, (UIntPtr)key.Length, v, (UIntPtr)value.Length);
            }
            entries++;
            _pending = cursor.MoveNext(session.Env);
            if ((entries & 0xFF) == 0)
            {
                checkAbort();
                Native.Instance.rocksdb_sstfilewriter_file_size(writer.Handle, (IntPtr)(&size));
                if ((long)size >= _targetBytes)
                {
                    break;
                }
            }
        }
        writer.Finish();
        Native.Instance.rocksdb_sstfilewriter_file_size(writer.Handle, (IntPtr)(&size));
        GC.KeepAlive(ioOptions);
        Entries += entries;
        Bytes += (long)size;
        return _pending;
    }

    /// <summary>
    /// Ingests every staged file into <paramref name="family"/> in one call: all of them become visible
    /// together or none does. RocksDB 7.8.3 semantics relied on: <c>move_files</c> hard-links each file
    /// into the column family's path; <c>allow_global_seqno</c> (default) gives the files one sequence
    /// number newer than every earlier write, so imported values replace existing ones; with
    /// <c>snapshot_consistency</c> (default) snapshots taken before do not see them;
    /// <c>allow_blocking_flush</c> (default) flushes an overlapping memtable first. The global sequence
    /// number is kept in the MANIFEST only: the plugin refuses <c>NewRandomRWFile</c> with NotSupported,
    /// which RocksDB treats as "do not write it into the file".
    /// </summary>
    public void Ingest(StoreSession session, ColumnFamilyHandle family)
    {
        var options = new IngestExternalFileOptions().SetMoveFiles(true);
        session.Db.IngestExternalFiles([.. _files], options, family);
        GC.KeepAlive(options);
    }

    /// <summary>Removes the staging directory and everything left in it.</summary>
    public void Delete()
    {
        // Best effort; a later import (or open) removes left-over staging directories.
        _ = Engine.Files.StoreFiles.TryDeleteTreeOnDisk(_directory);
        s_active.TryRemove(_directory, out _);
    }

    /// <summary>
    /// Removes staging directories that no running import owns: what a crash or kill in the middle of an
    /// import leaves behind (never visible data: only the final ingest makes entries visible).
    /// </summary>
    public static void DeleteAbandoned(string namespacesRoot)
    {
        foreach (string nsDir in Engine.Files.StoreFiles.DirectoriesOnDisk(namespacesRoot))
        {
            foreach (string dir in Engine.Files.StoreFiles.DirectoriesOnDisk(nsDir, DirectoryPrefix))
            {
                if (!s_active.ContainsKey(dir))
                {
                    _ = Engine.Files.StoreFiles.TryDeleteTreeOnDisk(dir);
                }
            }
        }
    }
}
