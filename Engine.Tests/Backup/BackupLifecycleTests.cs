using Engine.Backup;
using Engine.Crypto;

namespace Engine.Tests.Backup;

/// <summary>Incremental copies, online backups under writes, and what deletions, rotations and anchors do to backups.</summary>
public sealed class BackupLifecycleTests : IDisposable
{
    private readonly BackupFixture _f = new();

    public void Dispose() => _f.Dispose();

    private long DirectoryBytes() => Directory.GetFiles(_f.BackupDir, "*", SearchOption.AllDirectories)
        .Where(p => !p.EndsWith(".manifest", StringComparison.Ordinal)).Sum(p => new FileInfo(p).Length);

    private int SharedFiles() => Directory.GetFiles(Path.Combine(_f.BackupDir, "shared"), "*.sst", SearchOption.AllDirectories).Length;

    [Fact]
    public async Task A_second_backup_copies_only_the_new_sst_and_its_own_small_files()
    {
        using EncryptedStore store = _f.Dir.Open();
        StoreNamespace a = store.GetNamespace("a");
        for (int i = 0; i < 20_000; i++)
        {
            a.Put($"key-{i:D6}", new string('v', 100));
        }
        store.Flush();
        store.Keys.RotationFilesPerSecond = 0;
        BackupInfo first = await store.Backups.CreateAsync(_f.BackupDir);
        long afterFirst = DirectoryBytes();
        int sharedAfterFirst = SharedFiles();
        Assert.Equal(first.TotalBytes, first.NewBytes);
        Assert.Equal(first.NewBytes, afterFirst);

        for (int i = 0; i < 100; i++)
        {
            a.Put($"more-{i:D4}", "x");
        }
        BackupInfo second = await store.Backups.CreateAsync(_f.BackupDir);
        long copied = DirectoryBytes() - afterFirst;
        Assert.Equal(second.NewBytes, copied); // what the backup says it copied is what the directory grew by
        Assert.Equal(sharedAfterFirst + 1, SharedFiles()); // the flush of the 100 new keys, nothing else
        Assert.True(second.NewBytes * 10 < second.TotalBytes, $"copied {second.NewBytes} of {second.TotalBytes} bytes");

        using LocalKeyFileCmek cmek = _f.Cmek();
        await StoreBackups.RestoreAsync(_f.BackupDir, 2, _f.Target(), cmek);
        using EncryptedStore restored = _f.OpenRestored(_f.Target());
        Assert.Equal("x", restored.GetNamespace("a").Get("more-0099"));
        Assert.Equal(20_000 + 100, restored.GetNamespace("a").Scan().Count());
    }

    [Fact]
    public async Task An_online_backup_under_concurrent_writes_holds_every_write_acknowledged_before_it_began()
    {
        using EncryptedStore store = _f.Dir.Open();
        StoreNamespace a = store.GetNamespace("a");
        StoreNamespace b = store.GetNamespace("b");
        long acknowledged = 0;
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                // One batch across two namespaces: a restored store must have both halves or neither.
                using StoreWriteBatch batch = store.CreateWriteBatch();
                batch.Put(a, $"k{i:D8}", "a");
                batch.Put(b, $"k{i:D8}", "b");
                store.Write(batch);
                Interlocked.Exchange(ref acknowledged, i + 1);
            }
        });
        await Eventually(() => Interlocked.Read(ref acknowledged) > 2000);
        long before = Interlocked.Read(ref acknowledged);
        await store.Backups.CreateAsync(_f.BackupDir);
        await Eventually(() => Interlocked.Read(ref acknowledged) > before + 1000); // writes kept flowing
        stop.Cancel();
        await writer;

        using LocalKeyFileCmek cmek = _f.Cmek();
        await StoreBackups.RestoreAsync(_f.BackupDir, null, _f.Target(), cmek);
        using EncryptedStore restored = _f.OpenRestored(_f.Target());
        string[] keysA = [.. restored.GetNamespace("a").Scan().Select(kv => System.Text.Encoding.UTF8.GetString(kv.Key))];
        string[] keysB = [.. restored.GetNamespace("b").Scan().Select(kv => System.Text.Encoding.UTF8.GetString(kv.Key))];
        Assert.True(keysA.Length >= before, $"{keysA.Length} keys restored, {before} acknowledged before the backup began");
        // A consistent prefix: keys 0..n-1 with nothing missing, the same in both namespaces.
        Assert.Equal(Enumerable.Range(0, keysA.Length).Select(i => $"k{i:D8}"), keysA);
        Assert.Equal(keysA, keysB);
    }

    [Fact]
    public async Task A_deleted_namespace_stays_readable_in_older_backups_until_they_are_deleted()
    {
        using (EncryptedStore store = _f.Dir.Open())
        {
            store.GetNamespace("secret").Put("ssn", "123-45-6789");
            store.GetNamespace("keep").Put("k", "v");
            await store.Backups.CreateAsync(_f.BackupDir);
            store.DeleteNamespace("secret");
            await store.Backups.CreateAsync(_f.BackupDir);
        }
        using LocalKeyFileCmek cmek = _f.Cmek();
        await StoreBackups.RestoreAsync(_f.BackupDir, 1, _f.Target("old"), cmek);
        await StoreBackups.RestoreAsync(_f.BackupDir, 2, _f.Target("new"), cmek);
        using (EncryptedStore old = _f.OpenRestored(_f.Target("old")))
        {
            Assert.Equal("123-45-6789", old.GetNamespace("secret").Get("ssn"));
        }
        using (EncryptedStore newer = _f.OpenRestored(_f.Target("new")))
        {
            Assert.Equal(["keep"], newer.ListNamespaces());
        }
    }

    [Fact]
    public async Task Kek_and_root_rotations_keep_old_backups_readable_and_a_cmek_rotation_seals_them_once_the_old_cmek_is_gone()
    {
        string newKey = _f.Dir.CreateOtherKey("new.key");
        using (EncryptedStore store = _f.Dir.Open())
        {
            store.Keys.RotationFilesPerSecond = 0;
            store.GetNamespace("a").Put("k", "v1");
            store.Flush();
            await store.Backups.CreateAsync(_f.BackupDir); // 1
            await store.Keys.RotateNamespaceKey("a").Completion.WaitAsync(TimeSpan.FromMinutes(2));
            store.Keys.RotateSystemKey();
            await store.Keys.RotateRootKeyAsync();
            store.GetNamespace("a").Put("k", "v2");
            await store.Backups.CreateAsync(_f.BackupDir); // 2
            await store.Keys.RotateCmekAsync("file:" + newKey);
            store.GetNamespace("a").Put("k", "v3");
            await store.Backups.CreateAsync(_f.BackupDir); // 3
        }

        using (LocalKeyFileCmek old = _f.Cmek())
        {
            // Backups 1 and 2 carry their own registry copies (older KEK versions, the old root), wrapped by the old CMEK.
            await StoreBackups.VerifyAsync(_f.BackupDir, 1, old);
            await StoreBackups.VerifyAsync(_f.BackupDir, 2, old);
            await Assert.ThrowsAsync<KeyUnavailableException>(() => StoreBackups.VerifyAsync(_f.BackupDir, 3, old));
            await StoreBackups.RestoreAsync(_f.BackupDir, 1, _f.Target("one"), old);
        }
        using (EncryptedStore one = _f.OpenRestored(_f.Target("one")))
        {
            Assert.Equal("v1", one.GetNamespace("a").Get("k"));
        }
        using (LocalKeyFileCmek fresh = LocalKeyFileCmek.Open(newKey))
        {
            await StoreBackups.VerifyAsync(_f.BackupDir, 3, fresh);
            await Assert.ThrowsAsync<KeyUnavailableException>(() => StoreBackups.VerifyAsync(_f.BackupDir, 1, fresh));
        }

        // The old CMEK destroyed: backups taken before the CMEK rotation are sealed for good.
        File.Delete(_f.Dir.KeyPath);
        await Assert.ThrowsAnyAsync<KeyUnavailableException>(() => StoreBackups.VerifyAsync(_f.BackupDir, 1, _f.Dir.CmekUri));
        await Assert.ThrowsAnyAsync<KeyUnavailableException>(() => StoreBackups.RestoreAsync(_f.BackupDir, 2, _f.Target("two"), _f.Dir.CmekUri));
        Assert.False(Directory.Exists(_f.Target("two")));
    }

    [Fact]
    public async Task Key_rotations_that_start_while_a_backup_copies_do_not_reach_its_files()
    {
        // The checkpoint hard-links the store's files; a rotation started after the freeze re-wraps
        // their headers in place under KEK versions the backup's registry copy does not hold.
        using EncryptedStore store = _f.Dir.Open();
        store.Keys.RotationFilesPerSecond = 0;
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        store.GetNamespace("a").Put("k", "v1");
        store.Flush();
        store.GetNamespace("a").Put("in-wal", "w");
        BackupWriter.FaultPoint = point =>
        {
            Assert.Equal("copying", point);
            KekRotation ns = store.Keys.RotateNamespaceKey("a");
            KekRotation system = store.Keys.RotateSystemKey();
            Task.WaitAll([ns.Completion, system.Completion], TimeSpan.FromMinutes(2));
            Assert.True(ns.Completion.IsCompletedSuccessfully && system.Completion.IsCompletedSuccessfully, "rotations did not finish");
        };
        BackupInfo info;
        try
        {
            info = await store.Backups.CreateAsync(_f.BackupDir);
        }
        finally
        {
            BackupWriter.FaultPoint = null;
        }

        using LocalKeyFileCmek cmek = _f.Cmek();
        await StoreBackups.VerifyAsync(_f.BackupDir, info.Id, cmek);
        await StoreBackups.RestoreAsync(_f.BackupDir, info.Id, _f.Target(), cmek);
        using EncryptedStore restored = _f.OpenRestored(_f.Target());
        Assert.Equal("v1", restored.GetNamespace("a").Get("k"));
        Assert.Equal("w", restored.GetNamespace("a").Get("in-wal"));
    }

    [Fact]
    public async Task A_restored_older_epoch_fails_to_open_under_the_anchor_of_the_newer_store_and_opens_with_a_new_anchor()
    {
        string anchorPath = Path.Combine(_f.Dir.Root, "anchor");
        ulong backupEpoch;
        using (EncryptedStore store = _f.Dir.Open(o => o.RollbackAnchor = new FileRollbackAnchor(anchorPath)))
        {
            store.GetNamespace("a").Put("k", "old");
            backupEpoch = (await store.Backups.CreateAsync(_f.BackupDir)).Epoch;
            store.GetNamespace("b").Put("k", "newer"); // a registry write: the epoch and the anchor move on
            Assert.True(store.Epoch > backupEpoch);
        }
        using (LocalKeyFileCmek cmek = _f.Cmek())
        {
            await StoreBackups.RestoreAsync(_f.BackupDir, null, _f.Target(), cmek);
        }
        // Same store id, older epoch: the anchor that pins the live store refuses it (a rollback).
        Assert.Throws<IntegrityException>(() => _f.OpenRestored(_f.Target(), o => o.RollbackAnchor = new FileRollbackAnchor(anchorPath)));
        // A deliberate restore takes a new anchor (or the old record is removed by the operator).
        using EncryptedStore restored = _f.OpenRestored(_f.Target(), o => o.RollbackAnchor = new FileRollbackAnchor(Path.Combine(_f.Dir.Root, "anchor-restored")));
        Assert.Equal("old", restored.GetNamespace("a").Get("k"));
        Assert.Equal(backupEpoch, restored.Epoch);
    }

    private static Task Eventually(Func<bool> condition) =>
        Task.Run(() => Assert.True(Support.Eventually.Holds(condition, TimeSpan.FromMinutes(2)), "condition not reached within 2 minutes"));
}
