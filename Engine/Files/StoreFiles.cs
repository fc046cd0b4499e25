using System.Buffers.Binary;
using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Files;

/// <summary>The plugin's kinds of file (<c>ekv_file_kind</c> in <c>ekvfs.h</c>).</summary>
internal enum StoreFileKind
{
    /// <summary>Not encrypted: RocksDB's LOCK.</summary>
    Passthrough = 0,

    /// <summary>Written once and closed with a final frame: SST and blob files.</summary>
    Immutable = 1,

    /// <summary>Appended to and reopened (WAL, MANIFEST, OPTIONS, CURRENT, IDENTITY, info LOG, temp files).</summary>
    LogLike = 2,
}

/// <summary>
/// The one owner of the store's files as the session's env sees them: listing, classifying, sizes and
/// deletion through the env's base file system (the disk, or the in-memory file system of an
/// in-memory store), verification, header reads and re-wraps through the plugin
/// (<c>ekv_file_verify</c>, <c>ekv_file_header_info</c>, <c>ekv_file_rewrap</c>: re-wraps of one env
/// are serialized and never touch frames; docs/format.md, "Header re-wrap").
/// </summary>
/// <remarks>Open it inside the store's gate and dispose it before leaving: its file system handle must
/// be destroyed before the env. Which file the plugin encrypts, and how, is the plugin's rule
/// (<see cref="KindOf"/>); the only rule kept here is the managed one: the key registry is written by
/// managed code, not through the plugin. What must touch the store directory on disk without an env
/// (before RocksDB is open, after the store is gone) is in the static members of StoreFiles.Disk.cs.</remarks>
internal sealed unsafe partial class StoreFiles : IDisposable
{
    private readonly EncryptedEnvHandle _env;
    private nint _fs;
    private nint _encryptedFs;

    private StoreFiles(EncryptedEnvHandle env, nint fs)
    {
        _env = env;
        _fs = fs;
    }

    /// <exception cref="EngineException">The plugin could not open the env's file system.</exception>
    public static StoreFiles Open(StoreSession session)
    {
        nint fs = 0;
        NativeCall.Check(null, (msg, cap) => NativeMethods.FsOpen(session.Env, 0, out fs, msg, cap));
        return new StoreFiles(session.Env, fs);
    }

    /// <summary>What the plugin does with the file at <paramref name="path"/> (the plugin's own rule).</summary>
    public static StoreFileKind KindOf(string path) => (StoreFileKind)NativeMethods.FileKindOf(path);

    /// <summary>
    /// True for a file of the store directory that the plugin encrypts: not RocksDB's LOCK, not the
    /// key registry (and its previous generation), which managed code writes itself.
    /// </summary>
    public static bool IsPluginFile(string name) =>
        KindOf(name) != StoreFileKind.Passthrough && !name.StartsWith(KeyRegistry.FileName, StringComparison.Ordinal);

    /// <summary>
    /// Every file of the store written through the plugin, sorted: the store root's and each
    /// namespace directory's. A snapshot: RocksDB may delete any of them at any time.
    /// </summary>
    public IReadOnlyList<string> AllFiles(StoreLayout layout)
    {
        var files = new List<string>(ScopeFiles(layout, new KeyScope(KeyScopeKind.System, 0)));
        string namespaces = layout.Root + "/" + StoreLayout.NamespacesDir;
        foreach (string name in List(namespaces).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            string dir = namespaces + "/" + name;
            files.AddRange(List(dir)
                .Where(n => !IsDirectory(dir, n))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .Select(n => dir + "/" + n));
        }
        return files;
    }

    /// <summary>
    /// The files of a key scope, sorted: for the system scope the store root's files that go through the
    /// plugin (not LOCK, the key registry or the ns/ and tmp/ directories); for a namespace the files of
    /// its directory. A snapshot: RocksDB may delete any of them at any time.
    /// </summary>
    public IReadOnlyList<string> ScopeFiles(StoreLayout layout, KeyScope scope)
    {
        string dir = scope.Kind switch
        {
            KeyScopeKind.System => layout.Root,
            KeyScopeKind.Namespace => layout.NamespaceDirectory(scope.NamespaceId),
            _ => throw new ArgumentException($"scope {scope} has no files of its own", nameof(scope)),
        };
        return [.. List(dir)
            .Where(name => IsPluginFile(name) && !IsDirectory(dir, name))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(name => dir + "/" + name)];
    }

    /// <summary>Names in <paramref name="dir"/>; empty when it does not exist.</summary>
    /// <exception cref="EngineException">The directory exists and cannot be listed.</exception>
    public IReadOnlyList<string> List(string dir)
    {
        ulong capacity = 16 << 10;
        while (true)
        {
            byte[] buffer = new byte[capacity];
            ulong needed = 0;
            NativeStatus status;
            NativeError error;
            fixed (byte* b = buffer)
            {
                byte* names = b;
                status = NativeCall.Try(dir, (msg, cap) => NativeMethods.FsGetChildren(Fs, dir, 0, names, capacity, out needed, msg, cap), out error);
            }

            if (status == NativeStatus.InvalidArgument && needed > capacity)
            {
                capacity = needed;
                continue;
            }

            if (status == NativeStatus.NotFound || (status != NativeStatus.Ok && !Directory.Exists(dir) && !Exists(dir)))
            {
                return [];
            }

            if (status != NativeStatus.Ok)
            {
                throw error.ToException();
            }

            var result = new List<string>();
            for (int at = 0; at < (int)needed;)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 8));
                result.Add(Encoding.UTF8.GetString(buffer, at + 12, length));
                at += 12 + length;
            }

            return result;
        }
    }

    public bool Exists(string path) =>
        NativeCall.Try(path, (msg, cap) => NativeMethods.FsFileExists(Fs, path, msg, cap), out _) == NativeStatus.Ok;

    /// <summary>Size in the underlying file system (on disk: the physical size), or -1 when missing.</summary>
    public long SizeOf(string path)
    {
        ulong size = 0;
        return NativeCall.Try(path, (msg, cap) => NativeMethods.FsFileSize(Fs, path, out size, msg, cap), out _) == NativeStatus.Ok ? (long)size : -1;
    }

    /// <summary>
    /// Logical (plaintext) size of a plugin file, from its frame headers and without a key or any
    /// authentication (a file this process is writing: the writer's size); -1 when missing.
    /// </summary>
    /// <exception cref="EngineException">The file exists and its size cannot be read.</exception>
    public long LogicalSizeOf(string path)
    {
        ulong size = 0;
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FsFileSize(EncryptedFs, path, out size, msg, cap), out NativeError error);
        if (status == NativeStatus.Ok)
        {
            return (long)size;
        }
        return Exists(path) ? throw error.ToException() : -1;
    }

    /// <summary>Reads a whole small plugin file, authenticating every frame.</summary>
    /// <exception cref="IntegrityException">The file failed authentication.</exception>
    /// <exception cref="KeyUnavailableException">The file's key cannot be obtained.</exception>
    /// <exception cref="EngineException">The file is missing or unreadable.</exception>
    public byte[] ReadSmall(string path, int maxBytes)
    {
        byte[] buffer = new byte[maxBytes];
        ulong read = 0;
        fixed (byte* b = buffer)
        {
            byte* target = b;
            NativeCall.Check(path, (msg, cap) => NativeMethods.FileRead(_env, path, 0, target, (ulong)maxBytes, out read, msg, cap));
        }
        return buffer.AsSpan(0, (int)read).ToArray();
    }

    /// <summary>
    /// Replaces <paramref name="path"/> atomically with an encrypted, synced file holding
    /// <paramref name="data"/> (written to <c>path.tmp</c>, then renamed over it).
    /// </summary>
    /// <exception cref="KeyUnavailableException">No key for a new file.</exception>
    /// <exception cref="EngineException">A write or the rename failed.</exception>
    public void ReplaceSmall(string path, ReadOnlySpan<byte> data)
    {
        string temp = path + ".tmp";
        fixed (byte* d = data)
        {
            byte* source = d;
            int length = data.Length;
            NativeCall.Check(temp, (msg, cap) => NativeMethods.FileWrite(_env, temp, source, (ulong)length, msg, cap));
        }
        NativeCall.Check(path, (msg, cap) => NativeMethods.FsRename(Fs, temp, path, msg, cap));
    }

    /// <summary>Deletes a file; a missing file is not an error.</summary>
    /// <exception cref="EngineException">The file exists and cannot be deleted.</exception>
    public void Delete(string path)
    {
        if (NativeCall.Try(path, (msg, cap) => NativeMethods.FsDelete(Fs, path, msg, cap), out NativeError error) != NativeStatus.Ok && Exists(path))
        {
            throw error.ToException();
        }
    }

    /// <summary>
    /// Deletes every file under the store's <c>tmp/</c> directory (per-boot temp files, unreadable once
    /// their boot's key is gone) through the env, so an in-memory store's go too; directories stay.
    /// </summary>
    /// <exception cref="EngineException">A file exists and cannot be deleted.</exception>
    public void DeleteTempFiles(StoreLayout layout) => DeleteFilesUnder(layout.TempDirectory);

    private void DeleteFilesUnder(string dir)
    {
        foreach (string name in List(dir).Distinct(StringComparer.Ordinal))
        {
            string path = dir + "/" + name;
            if (List(path).Count > 0 || Directory.Exists(path))
            {
                DeleteFilesUnder(path);
            }
            else
            {
                Delete(path);
            }
        }
    }

    /// <summary>Deletes an empty directory; a missing one is not an error.</summary>
    public void DeleteDirectory(string dir) =>
        _ = NativeCall.Try(dir, (msg, cap) => NativeMethods.FsDeleteDir(Fs, dir, msg, cap), out _);

    /// <summary>Reads the header slot in force of <paramref name="path"/> (no key needed); never throws for a missing file.</summary>
    public HeaderState ReadHeader(string path, out FileHeaderInfo info, out string? problem)
    {
        info = default;
        problem = null;
        NativeHeaderInfo header = default;
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FileHeaderInfo(_env, path, out header, msg, cap), out NativeError error);
        if (status == NativeStatus.Ok)
        {
            if (header.EnvelopeParsed == 0 || header.ScopeKind > (uint)KeyScopeKind.Ephemeral)
            {
                problem = "the key envelope is not a version 1 envelope";
                return HeaderState.Unreadable;
            }

            info = new FileHeaderInfo(new KeyScope((KeyScopeKind)header.ScopeKind, header.ScopeId), header.KekVersion, header.Generation);
            return HeaderState.Ok;
        }

        long size = status == NativeStatus.NotFound ? -1 : SizeOf(path);
        if (size < 0)
        {
            return HeaderState.Missing;
        }

        if (size == 0)
        {
            return HeaderState.Empty;
        }

        problem = error.Message;
        return HeaderState.Unreadable;
    }

    /// <summary>
    /// Waits until every file creation that began before this call has written its header (the
    /// plugin holds a creation from its key request until then). After a rotation is published,
    /// this is the point from which no file can still appear under the previous KEK version.
    /// </summary>
    /// <returns>False when creations were still running at the timeout.</returns>
    /// <exception cref="EngineException">The plugin refused the call.</exception>
    public bool WaitForFileCreations(TimeSpan timeout)
    {
        int done = 0;
        uint ms = (uint)Math.Clamp(timeout.TotalMilliseconds, 0, uint.MaxValue);
        NativeCall.Check(null, (msg, cap) => NativeMethods.EnvWaitFileCreations(_env, ms, out done, msg, cap));
        return done != 0;
    }

    /// <summary>
    /// Writes a new slot (generation + 1) with the file's DEK wrapped under its scope's current KEK
    /// version into the slot not in force, and syncs it.
    /// </summary>
    /// <exception cref="IntegrityException">The header does not authenticate (it is never re-wrapped).</exception>
    /// <exception cref="KeyUnavailableException">The KEK of the slot in force is gone.</exception>
    /// <exception cref="EngineException">An I/O error.</exception>
    public RewrapState Rewrap(string path)
    {
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FileRewrap(_env, path, out _, msg, cap), out NativeError error);
        if (status == NativeStatus.Ok)
        {
            return RewrapState.Rewrapped;
        }

        if (status == NativeStatus.NotFound || !Exists(path))
        {
            return RewrapState.Missing;
        }

        throw error.ToException();
    }

    /// <summary>
    /// Reads and authenticates every frame of <paramref name="path"/> (<c>ekv_file_verify</c>). A torn
    /// tail of a log-like file (what a crash while writing leaves) is reported, not an error.
    /// </summary>
    /// <exception cref="IntegrityException">The file failed authentication (or an immutable file is torn or cut).</exception>
    /// <exception cref="KeyUnavailableException">The file's key cannot be obtained.</exception>
    /// <exception cref="EngineException">An I/O error, or the file is gone.</exception>
    public VerifiedFile Verify(string path)
    {
        ulong logical = 0;
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FileVerify(_env, path, out logical, msg, cap), out NativeError error);
        return status switch
        {
            NativeStatus.Ok => new VerifiedFile(path, (long)logical, TornTail: false),
            NativeStatus.TornTail when KindOf(path) != StoreFileKind.Immutable => new VerifiedFile(path, (long)logical, TornTail: true),
            _ => throw error.ToException(),
        };
    }

    /// <summary>
    /// Like <see cref="Verify"/>, for a file a sealed record says was closed cleanly: it must also
    /// end in its authenticated final frame (docs/format.md, "Live log record").
    /// </summary>
    /// <exception cref="IntegrityException">The file failed authentication, or it lacks its final frame (cut at a frame boundary).</exception>
    /// <exception cref="KeyUnavailableException">The file's key cannot be obtained.</exception>
    /// <exception cref="EngineException">An I/O error, or the file is gone.</exception>
    public VerifiedFile VerifyClosed(string path)
    {
        ulong logical = 0;
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FileCheck(_env, path, NativeMethods.CheckRequireClosed, out logical, out _, msg, cap), out NativeError error);
        return status switch
        {
            NativeStatus.Ok => new VerifiedFile(path, (long)logical, TornTail: false),
            NativeStatus.TornTail when KindOf(path) != StoreFileKind.Immutable => new VerifiedFile(path, (long)logical, TornTail: true),
            _ => throw error.ToException(),
        };
    }

    /// <summary>
    /// The logical size of a plugin file and whether it ends in an authenticated final frame, from
    /// its frame headers and one authenticated frame (the last); null when the file is missing,
    /// torn, fails that check or its key is unavailable: the caller then vouches for less.
    /// </summary>
    public (long Size, bool Closed)? ProbeEnd(string path)
    {
        ulong logical = 0;
        uint flags = 0;
        NativeStatus status = NativeCall.Try(path, (msg, cap) => NativeMethods.FileCheck(_env, path, NativeMethods.CheckLastFrameOnly, out logical, out flags, msg, cap), out _);
        return status == NativeStatus.Ok ? ((long)logical, (flags & NativeMethods.FileClosed) != 0) : null;
    }

    public void Dispose()
    {
        if (_fs != 0)
        {
            NativeMethods.FsDestroy(_fs);
            _fs = 0;
        }
        if (_encryptedFs != 0)
        {
            NativeMethods.FsDestroy(_encryptedFs);
            _encryptedFs = 0;
        }
    }

    private nint Fs => _fs != 0 ? _fs : throw new ObjectDisposedException(nameof(StoreFiles));

    /// <summary>The plugin's encrypted file system (logical sizes), opened on first use.</summary>
    private nint EncryptedFs
    {
        get
        {
            _ = Fs; // throws when disposed
            if (_encryptedFs == 0)
            {
                nint fs = 0;
                NativeCall.Check(null, (msg, cap) => NativeMethods.FsOpen(_env, 1, out fs, msg, cap));
                _encryptedFs = fs;
            }
            return _encryptedFs;
        }
    }

    /// <summary>
    /// Directories the engine makes inside the store (ns/ and tmp/ in the root, bulk-import staging in
    /// a namespace directory). The in-memory file system has no directories of its own, so this goes
    /// by the layout's names; on disk a stray directory is not a file either.
    /// </summary>
    private static bool IsDirectory(string dir, string name) =>
        name is StoreLayout.NamespacesDir or StoreLayout.TempDir
        || name.StartsWith(Import.SstStage.DirectoryPrefix, StringComparison.Ordinal)
        || Directory.Exists(dir + "/" + name);
}
