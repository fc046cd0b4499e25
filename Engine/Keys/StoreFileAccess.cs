using System.Buffers.Binary;
using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine;

/// <summary>
/// The store's files as the session's env sees them: listing, sizes and deletion through the env's
/// base file system (the disk, or the in-memory file system of an in-memory store), header reads and
/// re-wraps through the plugin (<c>ekv_file_header_info</c>, <c>ekv_file_rewrap</c>: re-wraps of one
/// env are serialized and never touch frames; docs/format.md, "Header re-wrap").
/// </summary>
/// <remarks>Open it inside the store's gate and dispose it before leaving: its file system handle must
/// be destroyed before the env.</remarks>
internal sealed class StoreFileAccess : IDisposable
{
    private readonly EncryptedEnvHandle _env;
    private nint _fs;

    private StoreFileAccess(EncryptedEnvHandle env, nint fs)
    {
        _env = env;
        _fs = fs;
    }

    /// <exception cref="EngineException">The plugin could not open the env's file system.</exception>
    public static unsafe StoreFileAccess Open(StoreSession session)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FsOpen(session.Env, 0, out nint fs, msg, NativeMethods.MessageCapacity);
        return status == NativeStatus.Ok
            ? new StoreFileAccess(session.Env, fs)
            : throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), path: null);
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
            .Where(name => scope.Kind != KeyScopeKind.System || IsSystemFile(name))
            .Order(StringComparer.Ordinal)
            .Select(name => dir + "/" + name)
            .Where(path => !Directory.Exists(path))];
    }

    /// <summary>Names in <paramref name="dir"/>; empty when it does not exist.</summary>
    public unsafe IReadOnlyList<string> List(string dir)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        ulong capacity = 16 << 10;
        while (true)
        {
            byte[] buffer = new byte[capacity];
            msg[0] = 0;
            NativeStatus status;
            ulong needed;
            fixed (byte* b = buffer)
            {
                status = (NativeStatus)NativeMethods.FsGetChildren(Fs, dir, 0, b, capacity, out needed, msg, NativeMethods.MessageCapacity);
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
                throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), dir);
            }

            var names = new List<string>();
            for (int at = 0; at < (int)needed;)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 8));
                names.Add(Encoding.UTF8.GetString(buffer, at + 12, length));
                at += 12 + length;
            }

            return names;
        }
    }

    public unsafe bool Exists(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        return (NativeStatus)NativeMethods.FsFileExists(Fs, path, msg, NativeMethods.MessageCapacity) == NativeStatus.Ok;
    }

    /// <summary>Size in the underlying file system (on disk: the physical size), or -1 when missing.</summary>
    public unsafe long SizeOf(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        return (NativeStatus)NativeMethods.FsFileSize(Fs, path, out ulong size, msg, NativeMethods.MessageCapacity) == NativeStatus.Ok ? (long)size : -1;
    }

    /// <summary>Deletes a file; a missing file is not an error.</summary>
    public unsafe void Delete(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FsDelete(Fs, path, msg, NativeMethods.MessageCapacity);
        if (status != NativeStatus.Ok && Exists(path))
        {
            throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), path);
        }
    }

    /// <summary>Deletes an empty directory; a missing one is not an error.</summary>
    public unsafe void DeleteDirectory(string dir)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        _ = NativeMethods.FsDeleteDir(Fs, dir, msg, NativeMethods.MessageCapacity);
    }

    /// <summary>Reads the header slot in force of <paramref name="path"/> (no key needed); never throws for a missing file.</summary>
    public unsafe HeaderState ReadHeader(string path, out FileHeaderInfo info, out string? problem)
    {
        info = default;
        problem = null;
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileHeaderInfo(_env, path, out NativeHeaderInfo header, msg, NativeMethods.MessageCapacity);
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

        problem = NativeErrors.ReadMessage(msg);
        return HeaderState.Unreadable;
    }

    /// <summary>
    /// Writes a new slot (generation + 1) with the file's DEK wrapped under its scope's current KEK
    /// version into the slot not in force, and syncs it.
    /// </summary>
    /// <exception cref="IntegrityException">The header does not authenticate (it is never re-wrapped).</exception>
    /// <exception cref="KeyUnavailableException">The KEK of the slot in force is gone.</exception>
    /// <exception cref="EngineException">An I/O error.</exception>
    public unsafe RewrapState Rewrap(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileRewrap(_env, path, out _, msg, NativeMethods.MessageCapacity);
        if (status == NativeStatus.Ok)
        {
            return RewrapState.Rewrapped;
        }

        if (status == NativeStatus.NotFound || !Exists(path))
        {
            return RewrapState.Missing;
        }

        throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), path);
    }

    public void Dispose()
    {
        if (_fs != 0)
        {
            NativeMethods.FsDestroy(_fs);
            _fs = 0;
        }
    }

    private nint Fs => _fs != 0 ? _fs : throw new ObjectDisposedException(nameof(StoreFileAccess));

    private static bool IsSystemFile(string name) =>
        name is not ("LOCK" or StoreLayout.NamespacesDir or StoreLayout.TempDir)
        && !name.StartsWith(KeyRegistry.FileName, StringComparison.Ordinal);
}
