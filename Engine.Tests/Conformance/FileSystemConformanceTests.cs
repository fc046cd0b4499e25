using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Tests.Conformance;

/// <summary>
/// One suite, run against the plain base FileSystem and the encrypted one (a subclass each): every
/// operation RocksDB uses must give byte-for-byte the same logical results through the plugin.
/// </summary>
public abstract class FileSystemConformanceTests : IDisposable
{
    private const int F = 4096;
    private readonly string _root;
    private readonly LocalKeyFileCmek _cmek;
    private readonly NativeFileSystem _fs;

    protected FileSystemConformanceTests()
    {
        _root = Directory.CreateTempSubdirectory("ekv-conformance-").FullName;
        _cmek = LocalKeyFileCmek.Create(Path.Combine(_root, "cmek.key"));
        Directory.CreateDirectory(Dir);
        _fs = new NativeFileSystem(_root, _cmek, Encrypted);
    }

    /// <summary>Which file system this subclass runs against.</summary>
    protected abstract bool Encrypted { get; }

    private string Dir => Path.Combine(_root, "files");

    private string P(string name) => Path.Combine(Dir, name);

    public void Dispose()
    {
        _fs.Dispose();
        _cmek.Dispose();
        Directory.Delete(_root, recursive: true);
        GC.SuppressFinalize(this);
    }

    private static byte[] Bytes(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static TheoryData<int> Sizes => [0, 1, F - 1, F, F + 1, 3 * F, (3 * F) + 100, 100_000];

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Appended_bytes_read_back_exactly_and_sizes_are_logical(int size)
    {
        byte[] data = Bytes(size, size);
        // Appends of uneven sizes, as RocksDB's buffered writer issues them.
        var chunks = new List<byte[]>();
        for (int pos = 0, step = 1; pos < size; pos += step, step = (step * 7 % 5000) + 1)
        {
            chunks.Add(data.AsSpan(pos, Math.Min(step, size - pos)).ToArray());
        }
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("f"), chunks));

        Assert.Equal((ulong)size, _fs.FileSize(P("f")));
        Assert.Equal(data, _fs.ReadSequential(P("f"), readSize: 777));
        Assert.Equal((ulong)size, _fs.Children(Dir)["f"]);
        var random = new Random(size);
        for (int i = 0; i < 20; i++)
        {
            int offset = random.Next(0, size + 10);
            int length = random.Next(0, 9000);
            byte[] expected = offset >= size ? [] : data.AsSpan(offset, Math.Min(length, size - offset)).ToArray();
            Assert.Equal(expected, _fs.ReadRandom(P("f"), (ulong)offset, length));
        }
    }

    [Fact]
    public void Flush_sync_fsync_and_range_sync_interleaved_with_appends_keep_every_byte()
    {
        byte[] data = Bytes(5 * F + 123, 7);
        var chunks = new List<byte[]>();
        for (int pos = 0, i = 0; pos < data.Length; i++)
        {
            int n = Math.Min(data.Length - pos, 100 + (i * 97 % 1500));
            chunks.Add(data.AsSpan(pos, n).ToArray());
            pos += n;
        }
        int step = 0;
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("wal"), chunks, f =>
        {
            switch (step++ % 4)
            {
                case 0: NativeFileSystem.Flush(f); break;
                case 1: NativeFileSystem.Sync(f); break;
                case 2: NativeFileSystem.Fsync(f); break;
                default: NativeFileSystem.RangeSync(f, 0, NativeFileSystem.Size(f)); break;
            }
        }));
        Assert.Equal(data, _fs.ReadSequential(P("wal")));
        Assert.Equal((ulong)data.Length, _fs.FileSize(P("wal")));
    }

    [Fact]
    public void Writable_file_reports_its_size_and_flushed_bytes_are_readable_before_close()
    {
        byte[] first = Bytes(F + 10, 1);
        NativeStatus status = _fs.WriteFile(P("live"), [first], f =>
        {
            Assert.Equal((ulong)first.Length, NativeFileSystem.Size(f));
            NativeFileSystem.Flush(f);
            Assert.Equal(first, _fs.ReadSequential(P("live")));
        });
        Assert.Equal(NativeStatus.Ok, status);
    }

    [Fact]
    public void Reopen_for_append_continues_the_file()
    {
        byte[] a = Bytes(F + 500, 2);
        byte[] b = Bytes(2 * F + 3, 3);
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("m"), [a]));
        Assert.Equal(NativeStatus.Ok, _fs.ReopenAndAppend(P("m"), b));
        Assert.Equal([.. a, .. b], _fs.ReadSequential(P("m")));
        Assert.Equal((ulong)(a.Length + b.Length), _fs.FileSize(P("m")));
    }

    [Fact]
    public void Truncate_of_a_writable_file_keeps_the_prefix()
    {
        byte[] a = Bytes(3 * F + 77, 4);
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("t"), [a]));
        Assert.Equal(NativeStatus.Ok, _fs.ReopenAndAppend(P("t"), Bytes(10, 5), truncateTo: (ulong)(F + 5)));
        Assert.Equal(a.AsSpan(0, F + 5).ToArray(), _fs.ReadSequential(P("t")));
    }

    [Fact]
    public void Skip_and_multi_read_return_the_same_bytes_as_plain_reads()
    {
        byte[] data = Bytes(4 * F, 6);
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("s"), [data]));
        Assert.Equal(data.AsSpan(F + 3).ToArray(), _fs.ReadSequential(P("s"), skip: F + 3));
        Assert.Empty(_fs.ReadSequential(P("s"), skip: (ulong)data.Length + 100));
        byte[][] parts = _fs.MultiRead(P("s"), [(0, 10), (F - 5, 10), (3 * F, F), (4 * F - 1, 50)]);
        Assert.Equal(data.AsSpan(0, 10).ToArray(), parts[0]);
        Assert.Equal(data.AsSpan(F - 5, 10).ToArray(), parts[1]);
        Assert.Equal(data.AsSpan(3 * F, F).ToArray(), parts[2]);
        Assert.Equal(data.AsSpan(4 * F - 1, 1).ToArray(), parts[3]);
    }

    [Fact]
    public void Rename_over_current_link_and_delete_behave_like_posix()
    {
        byte[] current = Encoding.ASCII.GetBytes("MANIFEST-000005\n");
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("000005.dbtmp"), [current]));
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("CURRENT"), [Encoding.ASCII.GetBytes("MANIFEST-000001\n")]));
        _fs.Rename(P("000005.dbtmp"), P("CURRENT"));
        Assert.False(_fs.Exists(P("000005.dbtmp")));
        Assert.Equal(current, _fs.ReadSequential(P("CURRENT")));

        byte[] sst = Bytes(2 * F + 9, 8);
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("000007.sst"), [sst]));
        _fs.CreateDir(P("checkpoint"));
        _fs.Link(P("000007.sst"), P("checkpoint/000007.sst"));
        _fs.Delete(P("000007.sst"));
        Assert.False(_fs.Exists(P("000007.sst")));
        Assert.Equal(sst, _fs.ReadSequential(P("checkpoint/000007.sst")));
        Assert.Equal((ulong)sst.Length, _fs.Children(P("checkpoint"))["000007.sst"]);
        _fs.Delete(P("checkpoint/000007.sst"));
        _fs.DeleteDir(P("checkpoint"));
        Assert.False(_fs.Exists(P("checkpoint")));
    }

    [Fact]
    public void Empty_files_have_size_zero_and_read_nothing()
    {
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("IDENTITY.tmp"), []));
        Assert.Equal(0UL, _fs.FileSize(P("IDENTITY.tmp")));
        Assert.Empty(_fs.ReadSequential(P("IDENTITY.tmp")));
        Assert.Empty(_fs.ReadRandom(P("IDENTITY.tmp"), 0, 100));
    }

    [Fact]
    public void Lock_file_is_exclusive_until_unlocked()
    {
        nint handle = _fs.Lock(P("LOCK"));
        Assert.NotEqual(NativeStatus.Ok, _fs.TryLock(P("LOCK"), out _));
        NativeFileSystem.Unlock(handle);
        NativeFileSystem.Unlock(_fs.Lock(P("LOCK")));
    }

    [Fact]
    public void Missing_files_are_not_found()
    {
        Assert.False(_fs.Exists(P("nope")));
        Assert.Throws<IOException>(() => _fs.FileSize(P("nope")));
        Assert.Throws<IOException>(() => _fs.ReadSequential(P("nope")));
    }

    /// <summary>WAL recycling: the plain file system reuses the file; the encrypted one refuses (documented).</summary>
    [Fact]
    public void Reuse_writable_file_is_supported_or_cleanly_refused()
    {
        Assert.Equal(NativeStatus.Ok, _fs.WriteFile(P("000010.log"), [Bytes(100, 9)]));
        NativeStatus status = _fs.TryReuseWritable(P("000011.log"), P("000010.log"));
        Assert.Equal(Encrypted ? NativeStatus.NotSupported : NativeStatus.Ok, status);
    }
}

/// <summary>The conformance suite against RocksDB's own POSIX FileSystem (the reference).</summary>
public sealed class PlainFileSystemConformanceTests : FileSystemConformanceTests
{
    protected override bool Encrypted => false;
}

/// <summary>The conformance suite against the encrypted FileSystem of the plugin.</summary>
public sealed class EncryptedFileSystemConformanceTests : FileSystemConformanceTests
{
    protected override bool Encrypted => true;
}
