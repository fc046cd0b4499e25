using Engine.Files;
using Engine.Tests.Campaigns;
using Engine.Tests.Support;

namespace Engine.Tests.Files;

/// <summary>
/// Nothing acknowledged vanishes without an error (issue 12, item 1): after a clean close, a synced
/// put that lives only in the WAL must not disappear when the WAL is cut at any frame boundary, cut to
/// its header or deleted, and a MANIFEST cut at a frame boundary must not open cleanly. The engine's
/// record of live log files (<see cref="LiveLogRecord"/>) turns each of these into an
/// <see cref="IntegrityException"/> at open.
/// </summary>
public sealed class LiveLogRecordTests
{
    /// <summary>A store whose last synced put is only in the WAL, cleanly closed.</summary>
    private static TestStoreDirectory StoreWithSyncedPutInWal()
    {
        var dir = new TestStoreDirectory();
        using (EncryptedStore store = dir.Open())
        {
            StoreNamespace ns = store.GetNamespace("n");
            for (int i = 0; i < 40; i++)
            {
                ns.Put($"k{i:D3}", new string('v', 200) + i, sync: true);
            }
            store.Flush();
            ns.Put("only-in-wal", "acknowledged", sync: true);
        }
        return dir;
    }

    private static string Wal(TestStoreDirectory dir) =>
        Assert.Single(Directory.GetFiles(dir.StorePath, "*.log"), f => new FileInfo(f).Length > FileGeometry.HeaderRegion);

    /// <summary>The newest MANIFEST (after a clean close RocksDB has deleted the older ones).</summary>
    private static string Manifest(TestStoreDirectory dir) =>
        Directory.GetFiles(dir.StorePath, "MANIFEST-*").Order(StringComparer.Ordinal).Last();

    /// <summary>
    /// Cuts <paramref name="file"/> at every frame boundary and to its header: the open fails naming it,
    /// every time. Since a clean close ends a log-like file in an empty final frame (issue 12), this
    /// includes the cuts that remove only empty frames (the final frame, a sync marker before it), which
    /// lose no byte but are cuts all the same. The uncut file then opens with the synced put.
    /// </summary>
    private static void AssertEveryCutFails(TestStoreDirectory dir, string file)
    {
        byte[] original = File.ReadAllBytes(file);
        FileGeometry g = FileGeometry.Of(file, original);
        Assert.True(g.Frames.Count >= 2, $"{Path.GetFileName(file)} has {g.Frames.Count} frames");
        Assert.Equal(FileGeometry.FrameOverhead, g.Frames[^1].Length); // the empty final frame
        long CutAfter(int keep) => keep == 0 ? FileGeometry.HeaderRegion : g.Frames[keep - 1].Offset + g.Frames[keep - 1].Length;
        for (int keep = 0; keep < g.Frames.Count; keep++)
        {
            File.WriteAllBytes(file, original[..(int)CutAfter(keep)]);
            AssertOpenFailsNaming(dir, file);
        }
        // Last, because opening changes the store.
        File.WriteAllBytes(file, original);
        using EncryptedStore store = dir.Open(o => o.CreateIfMissing = false);
        Assert.Equal("acknowledged", store.GetNamespace("n").Get("only-in-wal"));
    }

    private static void AssertOpenFailsNaming(TestStoreDirectory dir, string file)
    {
        var ex = Assert.Throws<IntegrityException>(() => dir.Open(o => o.CreateIfMissing = false).Dispose());
        Assert.Contains(Path.GetFileName(file), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_clean_close_and_reopen_keeps_every_synced_put()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        for (int round = 0; round < 3; round++)
        {
            using EncryptedStore store = dir.Open(o => o.CreateIfMissing = false);
            Assert.Equal("acknowledged", store.GetNamespace("n").Get("only-in-wal"));
            store.Verify();
        }
    }

    [Fact]
    public void A_wal_cut_at_any_frame_boundary_or_to_its_header_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        AssertEveryCutFails(dir, Wal(dir));
    }

    [Fact]
    public void A_deleted_wal_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        string wal = Wal(dir);
        File.Delete(wal);
        AssertOpenFailsNaming(dir, wal);
    }

    [Fact]
    public void A_manifest_cut_at_any_frame_boundary_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        AssertEveryCutFails(dir, Manifest(dir));
    }

    /// <summary>
    /// Issue 12: each log-like file a clean close leaves ends in an authenticated empty final frame, and
    /// dropping just that frame (no byte of the file lost) fails the open naming the file and the final
    /// frame, for every kind the record lists.
    /// </summary>
    [Fact]
    public void Dropping_only_the_final_frame_of_a_closed_log_file_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        string[] files =
        [
            Wal(dir), Manifest(dir), Path.Combine(dir.StorePath, "CURRENT"), Path.Combine(dir.StorePath, "IDENTITY"),
            Directory.GetFiles(dir.StorePath, "OPTIONS-*").Order(StringComparer.Ordinal).Last(),
        ];
        foreach (string file in files)
        {
            byte[] original = File.ReadAllBytes(file);
            FileGeometry g = FileGeometry.Of(file, original);
            Assert.Equal(FileGeometry.FrameOverhead, g.Frames[^1].Length);
            File.WriteAllBytes(file, original[..(int)g.Frames[^1].Offset]);
            IntegrityException? ex = null;
            try
            {
                dir.Open(o => o.CreateIfMissing = false).Dispose();
            }
            catch (IntegrityException e)
            {
                ex = e;
            }
            Assert.True(ex is not null, $"{Path.GetFileName(file)} without its final frame opened");
            Assert.Contains(Path.GetFileName(file), ex.Message, StringComparison.Ordinal);
            Assert.Contains("final frame", ex.Message, StringComparison.Ordinal);
            File.WriteAllBytes(file, original);
        }
        using EncryptedStore store = dir.Open(o => o.CreateIfMissing = false);
        Assert.Equal("acknowledged", store.GetNamespace("n").Get("only-in-wal"));
    }

    [Fact]
    public void A_version_1_record_stays_readable_and_demands_no_final_frame()
    {
        // "EKVLIVE1" || closed || manifest 7 || 1 file: "000009.log", 1234 bytes || total length
        var body = new List<byte>();
        body.AddRange("EKVLIVE1"u8.ToArray());
        body.Add(2);
        body.AddRange(BitConverter.GetBytes(7UL));
        body.AddRange(BitConverter.GetBytes(1U));
        body.AddRange(BitConverter.GetBytes((ushort)10));
        body.AddRange("000009.log"u8.ToArray());
        body.AddRange(BitConverter.GetBytes(1234L));
        body.AddRange(BitConverter.GetBytes((uint)(body.Count + 4)));
        LiveLogRecord record = LiveLogRecord.Parse([.. body], "EKV-LIVELOGS");
        Assert.Equal(LiveLogState.Closed, record.State);
        Assert.Equal(7UL, record.ManifestNumber);
        Assert.Equal(("000009.log", 1234L, false), Assert.Single(record.Files));
        // The same body under the version 2 magic lacks the flags byte: refused, not misread.
        byte[] v2 = [.. body];
        "EKVLIVE2"u8.CopyTo(v2);
        Assert.Throws<IntegrityException>(() => LiveLogRecord.Parse(v2, "EKV-LIVELOGS"));
    }

    [Theory]
    [InlineData("CURRENT")]
    [InlineData("IDENTITY")]
    [InlineData(LiveLogRecord.FileName)]
    public void A_deleted_current_identity_or_record_fails_the_open(string name)
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        File.Delete(Path.Combine(dir.StorePath, name));
        AssertOpenFailsNaming(dir, name);
    }

    [Fact]
    public void An_older_record_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        string record = Path.Combine(dir.StorePath, LiveLogRecord.FileName);
        byte[] older = File.ReadAllBytes(record);
        using (EncryptedStore store = dir.Open(o => o.CreateIfMissing = false))
        {
            store.GetNamespace("n").Put("later", "x", sync: true);
            store.Flush(); // a new WAL: the older record lists one that is gone
        }
        File.WriteAllBytes(record, older);
        Assert.Throws<IntegrityException>(() => dir.Open(o => o.CreateIfMissing = false).Dispose());
    }

    [Fact]
    public void A_planted_wal_fails_the_open()
    {
        using TestStoreDirectory dir = StoreWithSyncedPutInWal();
        string wal = Wal(dir);
        string planted = Path.Combine(dir.StorePath, "999999.log");
        File.Copy(wal, planted);
        AssertOpenFailsNaming(dir, planted);
    }
}
