using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Engine.Tests.Locking;

/// <summary>
/// Puts a FIFO that nobody writes in place of a key file: opening it for reading blocks, as a read
/// of a key file on a hung network mount does. Dispose puts the key file back and releases every
/// reader still blocked on the FIFO, so no check thread stays hung after the test.
/// </summary>
internal sealed partial class HangingKeyFile : IDisposable
{
    private const int OpenWriteOnly = 0x1; // O_WRONLY
    private const int OpenNonBlocking = 0x800; // O_NONBLOCK (Linux)
    private const int NoReader = 6; // ENXIO: a non-blocking writer finds no reader

    private readonly string _keyPath;
    private readonly string _aside;
    private readonly string _fifo;
    private bool _disposed;

    /// <summary>Moves <paramref name="keyPath"/> aside and creates a FIFO (mode 0600) under its name.</summary>
    public HangingKeyFile(string keyPath)
    {
        _keyPath = keyPath;
        _aside = keyPath + ".aside";
        _fifo = keyPath + ".fifo";
        if (MakeFifo(_fifo, Convert.ToUInt32("600", 8)) != 0)
        {
            throw new IOException($"mkfifo {_fifo} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        File.Move(keyPath, _aside);
        File.Move(_fifo, keyPath); // rename(2): the key file's name now holds a FIFO, atomically
    }

    /// <summary>Readers blocked on the FIFO that <see cref="Dispose"/> released (for the test's report).</summary>
    public int ReleasedReaders { get; private set; }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        File.Move(_keyPath, _fifo); // the FIFO keeps its blocked readers under its new name
        File.Move(_aside, _keyPath);
        ReleasedReaders = ReleaseReaders(_fifo, TimeSpan.FromSeconds(10));
        File.Delete(_fifo);
    }

    /// <summary>
    /// Opens the FIFO for writing until no reader has it open: each open wakes the readers blocked in
    /// theirs, and closing at once gives them end of file (a 0-byte key file, which they reject).
    /// </summary>
    private static int ReleaseReaders(string fifo, TimeSpan limit)
    {
        int opened = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            int fd = Open(fifo, OpenWriteOnly | OpenNonBlocking);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == NoReader)
                {
                    return opened;
                }
                throw new IOException($"opening {fifo} for writing failed: errno {errno}");
            }
            opened++;
            _ = Close(fd);
            Thread.Sleep(5); // let the woken readers close their end before looking again
        }
        return opened;
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
