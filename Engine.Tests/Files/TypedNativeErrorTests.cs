using Engine.Tests.Support;

namespace Engine.Tests.Files;

/// <summary>
/// Plugin errors reach the engine typed: a read RocksDB runs and the plugin fails surfaces as an
/// <see cref="IntegrityException"/> whose path and offset come from the plugin's record of that failure
/// (not from RocksDB's message text), also when RocksDB ran the read on one of its own threads.
/// </summary>
public sealed class TypedNativeErrorTests
{
    [Fact]
    public void A_tampered_sst_frame_read_at_open_names_the_file_and_the_frame_offset()
    {
        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = dir.Open(o => o.FrameSize = 4096))
        {
            StoreNamespace ns = store.GetNamespace("n");
            // A table small enough to be one frame (format v4 gives blocks of 2 KiB and more a frame of
            // their own): RocksDB reads the table's last 4 KiB at open, so that frame is read then.
            for (int i = 0; i < 20; i++)
            {
                ns.Put($"k{i:D3}", new string('v', 100));
            }
            store.Flush();
        }
        string sst = Directory.GetFiles(Path.Combine(dir.StorePath, "ns"), "*.sst", SearchOption.AllDirectories).Single();
        const long FirstFrame = 1024; // the header region comes first
        FlipByte(sst, FirstFrame + 100); // a data block of the first keys

        // RocksDB opens (and reads) the table files at open, on its own file-opening threads.
        var failure = Assert.Throws<IntegrityException>(() => dir.Open(o => o.FrameSize = 4096).Dispose());
        Assert.Equal(sst, failure.Path);
        Assert.Equal(FirstFrame, failure.Offset);
        Assert.StartsWith(sst + ": authentication failed for frame 0", failure.Message, StringComparison.Ordinal);
        Assert.IsType<RocksDbSharp.RocksDbException>(failure.InnerException);
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.Position = offset;
        int b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 1));
    }
}
