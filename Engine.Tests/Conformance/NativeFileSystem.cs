using System.Buffers.Binary;
using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Tests.Conformance;

/// <summary>
/// The plugin's file-operation C API (ekv_fs_*) over one env, either the plain base FileSystem or
/// the encrypted one, so the same operations can be run against both.
/// </summary>
internal sealed unsafe class NativeFileSystem : IDisposable
{
    private readonly KeyRegistry _registry;
    private readonly FileKeyService _keys;
    private readonly EncryptedEnvHandle _env;
    private readonly nint _fs;

    public NativeFileSystem(string keyDir, ICmekProvider cmek, bool encrypted)
    {
        _registry = BlockingBridge.Wait(ct => KeyRegistry.CreateAsync(keyDir, cmek, ct));
        _keys = new FileKeyService(_registry, _ => KeyScope.System);
        _env = EncryptedEnvHandle.Create(_keys, 4096, inMemory: false);
        Check(NativeMethods.FsOpen(_env, encrypted ? 1 : 0, out _fs, Msg, Cap), "fs open");
    }

    private static readonly byte* Msg = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(NativeMethods.MessageCapacity);
    private const uint Cap = NativeMethods.MessageCapacity;

    /// <summary>Throws with the plugin's message unless <paramref name="status"/> is OK.</summary>
    public static void Check(int status, string what)
    {
        if (status != (int)NativeStatus.Ok)
        {
            throw new IOException($"{what}: status {(NativeStatus)status}: {NativeErrors.ReadMessage(Msg)}");
        }
    }

    public NativeStatus WriteFile(string path, IEnumerable<byte[]> chunks, Action<nint>? afterEachChunk = null)
    {
        Check(NativeMethods.FsNewWritable(_fs, path, out nint f, Msg, Cap), "new writable " + path);
        try
        {
            foreach (byte[] chunk in chunks)
            {
                Append(f, chunk);
                afterEachChunk?.Invoke(f);
            }
            return (NativeStatus)NativeMethods.WFileClose(f, Msg, Cap);
        }
        finally
        {
            NativeMethods.WFileDestroy(f);
        }
    }

    public static void Append(nint file, byte[] chunk)
    {
        fixed (byte* p = chunk)
        {
            Check(NativeMethods.WFileAppend(file, p, (ulong)chunk.Length, Msg, Cap), "append");
        }
    }

    public static void Flush(nint file) => Check(NativeMethods.WFileFlush(file, Msg, Cap), "flush");

    public static void Sync(nint file) => Check(NativeMethods.WFileSync(file, Msg, Cap), "sync");

    public static void Fsync(nint file) => Check(NativeMethods.WFileFsync(file, Msg, Cap), "fsync");

    public static void RangeSync(nint file, ulong offset, ulong length) => Check(NativeMethods.WFileRangeSync(file, offset, length, Msg, Cap), "range sync");

    public static ulong Size(nint file) => NativeMethods.WFileSize(file);

    public static void Truncate(nint file, ulong size) => Check(NativeMethods.WFileTruncate(file, size, Msg, Cap), "truncate");

    public NativeStatus ReopenAndAppend(string path, byte[] more, ulong? truncateTo = null)
    {
        Check(NativeMethods.FsReopenWritable(_fs, path, out nint f, Msg, Cap), "reopen writable " + path);
        try
        {
            Append(f, more);
            if (truncateTo is ulong t)
            {
                Truncate(f, t);
            }
            return (NativeStatus)NativeMethods.WFileClose(f, Msg, Cap);
        }
        finally
        {
            NativeMethods.WFileDestroy(f);
        }
    }

    public NativeStatus TryReuseWritable(string path, string oldPath)
    {
        int status = NativeMethods.FsReuseWritable(_fs, path, oldPath, out nint f, Msg, Cap);
        if (status == (int)NativeStatus.Ok)
        {
            try
            {
                Check(NativeMethods.WFileClose(f, Msg, Cap), "close reused file");
            }
            finally
            {
                NativeMethods.WFileDestroy(f);
            }
        }
        return (NativeStatus)status;
    }

    /// <summary>Whole file through a sequential reader, in reads of <paramref name="readSize"/> bytes, after skipping <paramref name="skip"/>.</summary>
    public byte[] ReadSequential(string path, int readSize = 1000, ulong skip = 0)
    {
        Check(NativeMethods.FsNewSequential(_fs, path, out nint f, Msg, Cap), "new sequential " + path);
        try
        {
            if (skip > 0)
            {
                Check(NativeMethods.SFileSkip(f, skip, Msg, Cap), "skip");
            }
            var all = new MemoryStream();
            byte[] buffer = new byte[readSize];
            while (true)
            {
                ulong read;
                fixed (byte* p = buffer)
                {
                    Check(NativeMethods.SFileRead(f, p, (ulong)buffer.Length, out read, Msg, Cap), "sequential read");
                }
                if (read == 0)
                {
                    return all.ToArray();
                }
                all.Write(buffer, 0, (int)read);
            }
        }
        finally
        {
            NativeMethods.SFileDestroy(f);
        }
    }

    public byte[] ReadRandom(string path, ulong offset, int length)
    {
        Check(NativeMethods.FsNewRandom(_fs, path, out nint f, Msg, Cap), "new random " + path);
        try
        {
            byte[] buffer = new byte[length];
            ulong read;
            fixed (byte* p = buffer)
            {
                Check(NativeMethods.RFilePrefetch(f, offset, (ulong)length, Msg, Cap), "prefetch");
                Check(NativeMethods.RFileRead(f, offset, p, (ulong)length, out read, Msg, Cap), "random read");
            }
            return buffer.AsSpan(0, (int)read).ToArray();
        }
        finally
        {
            NativeMethods.RFileDestroy(f);
        }
    }

    public byte[][] MultiRead(string path, (ulong Offset, int Length)[] requests)
    {
        Check(NativeMethods.FsNewRandom(_fs, path, out nint f, Msg, Cap), "new random " + path);
        byte[][] buffers = requests.Select(r => new byte[r.Length]).ToArray();
        var handles = buffers.Select(b => System.Runtime.InteropServices.GCHandle.Alloc(b, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        try
        {
            var native = new NativeReadRequest[requests.Length];
            for (int i = 0; i < requests.Length; i++)
            {
                native[i] = new NativeReadRequest { Offset = requests[i].Offset, Length = (ulong)requests[i].Length, Buffer = (byte*)handles[i].AddrOfPinnedObject() };
            }
            fixed (NativeReadRequest* r = native)
            {
                Check(NativeMethods.RFileMultiRead(f, r, (ulong)native.Length, Msg, Cap), "multi read");
            }
            return native.Select((n, i) => buffers[i].AsSpan(0, (int)n.Read).ToArray()).ToArray();
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Free();
            }
            NativeMethods.RFileDestroy(f);
        }
    }

    public ulong FileSize(string path)
    {
        Check(NativeMethods.FsFileSize(_fs, path, out ulong size, Msg, Cap), "file size " + path);
        return size;
    }

    public bool Exists(string path) => NativeMethods.FsFileExists(_fs, path, Msg, Cap) == (int)NativeStatus.Ok;

    public Dictionary<string, ulong> Children(string dir)
    {
        byte[] buffer = new byte[64 << 10];
        ulong needed;
        fixed (byte* p = buffer)
        {
            Check(NativeMethods.FsGetChildren(_fs, dir, 1, p, (ulong)buffer.Length, out needed, Msg, Cap), "get children " + dir);
        }
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        int pos = 0;
        while (pos < (int)needed)
        {
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(pos));
            int nameLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(pos + 8));
            string name = Encoding.UTF8.GetString(buffer, pos + 12, nameLength);
            pos += 12 + nameLength;
            if (name is not "." and not "..")
            {
                result[name] = size;
            }
        }
        return result;
    }

    public void Rename(string src, string dst) => Check(NativeMethods.FsRename(_fs, src, dst, Msg, Cap), "rename");

    public void Link(string src, string dst) => Check(NativeMethods.FsLink(_fs, src, dst, Msg, Cap), "link");

    public void Delete(string path) => Check(NativeMethods.FsDelete(_fs, path, Msg, Cap), "delete");

    public void CreateDir(string path) => Check(NativeMethods.FsCreateDir(_fs, path, 1, Msg, Cap), "create dir");

    public void DeleteDir(string path) => Check(NativeMethods.FsDeleteDir(_fs, path, Msg, Cap), "delete dir");

    public nint Lock(string path)
    {
        Check(NativeMethods.FsLock(_fs, path, out nint handle, Msg, Cap), "lock " + path);
        return handle;
    }

    public NativeStatus TryLock(string path, out nint handle) => (NativeStatus)NativeMethods.FsLock(_fs, path, out handle, Msg, Cap);

    public static void Unlock(nint handle) => Check(NativeMethods.FsUnlock(handle, Msg, Cap), "unlock");

    public void Dispose()
    {
        NativeMethods.FsDestroy(_fs);
        _env.Dispose();
        _keys.Dispose();
        _registry.Dispose();
    }
}
