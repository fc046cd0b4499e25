using Engine.Tests.Support;

namespace Engine.Tests.Files;

/// <summary>
/// Verify on files RocksDB is still writing: the plugin authenticates a live log-like file up to its
/// last stable frame, so tampering there is reported by the first Verify (no re-reads that could hide
/// a race or delay a real failure).
/// </summary>
public sealed class LiveFileVerifyTests
{
    [Fact]
    public void A_flipped_byte_in_a_stable_frame_of_the_live_wal_fails_the_first_verify()
    {
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = dir.Open(o => o.FrameSize = 4096);
        StoreNamespace ns = store.GetNamespace("n");
        for (int i = 0; i < 20; i++)
        {
            ns.Put($"k{i}", new string('v', 1000), sync: true); // each sync closes the WAL's tail frame
        }
        string wal = Directory.GetFiles(dir.StorePath, "*.log").Single();
        Assert.Contains(store.Verify().Files, f => f.Path == wal && !f.TornTail);

        FlipByte(wal, 1024 + 100); // inside frame 0, long closed by the syncs after it

        var failure = Assert.Throws<IntegrityException>(store.Verify);
        Assert.Equal(wal, failure.Path);
        Assert.Contains(Path.GetFileName(wal), failure.Message, StringComparison.Ordinal);
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
