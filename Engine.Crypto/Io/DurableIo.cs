using System.Runtime.InteropServices;

namespace Engine.Crypto;

/// <summary>
/// The few durability primitives the registry and key files need that .NET does not expose:
/// fsync of a directory (so a create or rename survives power loss). .NET refuses to open a
/// directory as a file handle on Linux, hence the libc calls.
/// </summary>
internal static partial class DurableIo
{
    /// <summary>Writes <paramref name="bytes"/> to a new or truncated file and fsyncs it.</summary>
    public static void WriteAndSync(string path, ReadOnlySpan<byte> bytes, FileMode mode, UnixFileMode unixMode)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = unixMode;
        }

        using var stream = new FileStream(path, options);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Makes directory entry changes (create, rename, delete) in <paramref name="directory"/>
    /// durable. A no-op on Windows, where NTFS metadata is journaled and directories cannot be
    /// flushed this way.
    /// </summary>
    /// <exception cref="IOException">open or fsync of the directory failed.</exception>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open directory {directory} to fsync it (errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory {directory} failed (errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Close(int fd);
}
