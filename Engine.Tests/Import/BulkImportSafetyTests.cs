using System.Text;
using Engine.Import;
using Engine.Tests.Support;

namespace Engine.Tests.Import;

/// <summary>
/// What a bulk import leaves behind when it is watched, cancelled or interrupted by a lock: no plaintext,
/// no temp file readable after the boot that wrote it, and no partially visible data.
/// </summary>
public sealed class BulkImportSafetyTests : IDisposable
{
    private static readonly BulkImportOptions s_tiny = new() { MemoryBudgetBytes = BulkImportOptions.MinMemoryBudgetBytes, MinReadBlockBytes = 4096, SstTargetBytes = 64 << 10 };
    private readonly TestStoreDirectory _dir = new();
    private readonly string _tag = Guid.NewGuid().ToString("N");

    public void Dispose() => _dir.Dispose();

    private IEnumerable<KeyValuePair<byte[], byte[]>> Canaries(int count)
    {
        // Unsorted (descending), so every run needs sorting and the merge interleaves them.
        for (int i = count - 1; i >= 0; i--)
        {
            yield return new(Encoding.ASCII.GetBytes($"CANARY-KEY-{_tag}-{i:D6}"), Encoding.ASCII.GetBytes($"CANARY-VALUE-{_tag}-{i:D6}"));
        }
    }

    private List<string> FilesWithCanary()
    {
        byte[] needle = Encoding.ASCII.GetBytes(_tag);
        return [.. _dir.StoreFiles().Where(f => File.Exists(f) && Bytes.FileContains(f, needle))];
    }

    [Fact]
    public void Canaries_never_appear_in_plaintext_and_a_temp_file_copied_aside_is_unreadable_after_reopen()
    {
        string aside = Path.Combine(_dir.Root, "aside.run");
        int tempFilesSeen = 0;
        int scans = 0;
        using (EncryptedStore store = _dir.Open())
        {
            StoreNamespace ns = store.GetNamespace("canaries");
            var progress = new SyncProgress<BulkImportProgress>(p =>
            {
                if (p.Phase is BulkImportPhase.Reading)
                {
                    return;
                }
                scans++;
                string[] temp = _dir.TempFiles();
                tempFilesSeen = Math.Max(tempFilesSeen, temp.Length);
                List<string> leaking = FilesWithCanary();
                Assert.True(leaking.Count == 0, $"{p.Phase}: canary in plaintext in {string.Join(", ", leaking)}");
                if (temp.Length > 0 && !File.Exists(aside))
                {
                    File.Copy(temp[0], aside);
                    // Positive control: this boot can read its own temp file (the chunk header is in it).
                    byte[] head = new byte[8];
                    int read = store.Run(s => TempFileIo.Read(s.Env, temp[0], 0, head));
                    Assert.Equal(8, read);
                    Assert.Equal("EKVRUN1\0"u8.ToArray(), head);
                }
            });
            BulkImportResult result = ns.BulkImport(Canaries(20_000), s_tiny, progress);
            Assert.True(result.RunsSpilled > 5);
            Assert.True(tempFilesSeen > 0, "the progress handler should have seen spilled temp files");
            Assert.True(File.Exists(aside));
            Assert.Empty(FilesWithCanary());
            Assert.Equal(Encoding.ASCII.GetBytes($"CANARY-VALUE-{_tag}-000042"), ns.Get(Encoding.ASCII.GetBytes($"CANARY-KEY-{_tag}-000042")));
        }
        Assert.True(scans > 10);
        Assert.Empty(FilesWithCanary());

        using (EncryptedStore store = _dir.Open())
        {
            // Put back where it came from: the ephemeral scope, but this boot has another key.
            string back = Path.Combine(_dir.TempDirectory(), "returned.run");
            Directory.CreateDirectory(_dir.TempDirectory());
            File.Copy(aside, back);
            byte[] buffer = new byte[4096];
            EngineException inTmp = Assert.ThrowsAny<EngineException>(() => store.Run(s => TempFileIo.Read(s.Env, back, 0, buffer)));
            Assert.True(inTmp is KeyUnavailableException, $"expected KeyUnavailableException, got {inTmp.GetType().Name}: {inTmp.Message}");
            Assert.All(buffer, b => Assert.Equal(0, b));
            // Anywhere else it is in the wrong scope altogether.
            string elsewhere = Path.Combine(_dir.StorePath, "returned.run");
            File.Copy(aside, elsewhere);
            EngineException outside = Assert.ThrowsAny<EngineException>(() => store.Run(s => TempFileIo.Read(s.Env, elsewhere, 0, buffer)));
            Assert.True(outside is KeyUnavailableException or IntegrityException, $"got {outside.GetType().Name}: {outside.Message}");
            Assert.All(buffer, b => Assert.Equal(0, b));
            File.Delete(elsewhere);
        }
        // The next open deleted the returned file with the rest of tmp/.
        using (EncryptedStore store = _dir.Open())
        {
            Assert.Empty(_dir.TempFiles());
        }
    }

    [Theory]
    [InlineData(BulkImportPhase.Spilling)]
    [InlineData(BulkImportPhase.Merging)]
    [InlineData(BulkImportPhase.WritingSsts)]
    public void Cancellation_leaves_no_visible_data_and_no_temp_files(BulkImportPhase at)
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("cancelled");
        using var cts = new CancellationTokenSource();
        bool tempFilesExisted = false;
        var progress = new SyncProgress<BulkImportProgress>(p =>
        {
            if (p.Phase == at && (at != BulkImportPhase.WritingSsts || p.SstFiles >= 2))
            {
                tempFilesExisted |= _dir.TempFiles().Length > 0 || _dir.StagingDirectories().Length > 0;
                cts.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => ns.BulkImport(Canaries(30_000), s_tiny with { MinReadBlockBytes = 16 << 10 }, progress, cts.Token));
        Assert.True(tempFilesExisted, "cancelled too early to prove anything");
        Assert.Empty(ns.Scan());
        Assert.Empty(_dir.TempFiles());
        Assert.Empty(_dir.StagingDirectories());
        store.Verify();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_lock_during_the_import_aborts_it_with_StoreLockedException_and_nothing_visible(bool unlockAtOnce)
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("locked");
        ns.Put("before", "kept");
        bool locked = false;
        var progress = new SyncProgress<BulkImportProgress>(p =>
        {
            if (!locked && p.Phase == BulkImportPhase.WritingSsts && p.SstFiles >= 1)
            {
                locked = true;
                store.Lock("test: CMEK revoked");
                Assert.Empty(_dir.TempFiles()); // the lock shredded this boot's temp files
                if (unlockAtOnce)
                {
                    store.Unlock();
                }
            }
        });
        var ex = Assert.Throws<StoreLockedException>(() => ns.BulkImport(Canaries(30_000), s_tiny, progress));
        Assert.Contains("test: CMEK revoked", ex.Message, StringComparison.Ordinal);
        if (!unlockAtOnce)
        {
            Assert.Equal(StoreState.Locked, store.State);
            store.Unlock();
        }
        Assert.Equal(StoreState.Open, store.State);
        Assert.Equal([Encoding.ASCII.GetBytes("before")], ns.Scan().Select(e => e.Key));
        Assert.Empty(_dir.TempFiles());
        Assert.Empty(_dir.StagingDirectories());

        // And a new import after the unlock works.
        BulkImportResult result = ns.BulkImport(Canaries(1000), s_tiny);
        Assert.Equal(1000, result.KeysImported);
        Assert.Equal(1001, ns.Scan().Count());
    }

    [Fact]
    public void Importing_into_a_locked_store_fails_at_once()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("n");
        store.Lock("test");
        Assert.Throws<StoreLockedException>(() => ns.BulkImport(Canaries(100)));
        store.Unlock();
        Assert.Empty(ns.Scan());
    }

    [Fact]
    public void A_staging_directory_left_by_a_crash_is_removed_by_the_next_import()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("crashed");
        ns.Put("x", "y");
        string nsDir = Directory.GetDirectories(Path.Combine(_dir.StorePath, "ns")).Single();
        string stale = Path.Combine(nsDir, "import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(stale);
        File.WriteAllBytes(Path.Combine(stale, "000001.sst"), new byte[2000]);
        store.GetNamespace("other").BulkImport(Canaries(10));
        Assert.False(Directory.Exists(stale));
        Assert.Equal("y", ns.Get("x"));
    }
}
