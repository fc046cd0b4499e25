using Engine.Backup;
using Engine.Crypto;

namespace Engine.Tests.Backup;

/// <summary>Create, list, verify and restore: the restored store equals the store at backup time.</summary>
public sealed class BackupRoundTripTests : IDisposable
{
    private readonly BackupFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Restore_equals_the_store_at_backup_time_across_namespaces_and_later_writes_are_absent()
    {
        SortedDictionary<string, string> atBackup;
        BackupInfo info;
        string storeId;
        using (EncryptedStore store = _f.Dir.Open())
        {
            StoreNamespace a = store.GetNamespace("a");
            StoreNamespace b = store.GetNamespace("b");
            for (int i = 0; i < 500; i++)
            {
                a.Put($"k{i:D4}", $"a{i}");
            }
            store.Flush();
            for (int i = 0; i < 50; i++)
            {
                b.Put($"k{i:D4}", $"b{i}"); // memtable only: the checkpoint must flush or copy the WAL
            }
            a.Delete("k0000");
            atBackup = BackupFixture.Contents(store);
            storeId = store.StoreId;
            info = await store.Backups.CreateAsync(_f.BackupDir);
            a.Put("after", "x");
            store.GetNamespace("c").Put("later-namespace", "y");
        }

        Assert.Equal(1, info.Id);
        Assert.Equal(storeId, info.StoreId);
        Assert.True(info.FileCount >= 5, $"{info.FileCount} files");
        Assert.Equal(info.TotalBytes, info.NewBytes);
        BackupInfo listed = Assert.Single(StoreBackups.List(_f.BackupDir));
        Assert.Equal(info, listed);

        using (LocalKeyFileCmek cmek = _f.Cmek())
        {
            BackupVerifyReport report = await StoreBackups.VerifyAsync(_f.BackupDir, null, cmek);
            Assert.Equal(info.FileCount, report.FilesChecked);
            Assert.Equal(info.FileCount - 1, report.FilesAuthenticated); // all but the registry copy
            BackupInfo restored = await StoreBackups.RestoreAsync(_f.BackupDir, null, _f.Target(), cmek);
            Assert.Equal(info, restored);
        }

        using (EncryptedStore restored = _f.OpenRestored(_f.Target()))
        {
            Assert.Equal(storeId, restored.StoreId);
            Assert.Equal(atBackup, BackupFixture.Contents(restored));
            Assert.Null(restored.GetNamespace("a").Get("after"));
            Assert.DoesNotContain("c", restored.ListNamespaces());
            // The restored store is a working store: it takes writes and reopens.
            restored.GetNamespace("b").Put("new", "z");
        }
        using (EncryptedStore again = _f.OpenRestored(_f.Target()))
        {
            Assert.Equal("z", again.GetNamespace("b").Get("new"));
            Assert.Equal("a1", again.GetNamespace("a").Get("k0001"));
        }
    }

    [Fact]
    public async Task Backup_files_hold_no_plaintext()
    {
        const string canary = "CANARY-backup-7f3a9c";
        using (EncryptedStore store = _f.Dir.Open())
        {
            StoreNamespace a = store.GetNamespace("a");
            a.Put(canary + "-key", canary + "-value");
            store.Flush();
            a.Put(canary + "-wal", canary + "-value2");
            await store.Backups.CreateAsync(_f.BackupDir);
        }
        byte[] needle = System.Text.Encoding.UTF8.GetBytes(canary);
        string[] files = Directory.GetFiles(_f.BackupDir, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(needle) < 0, $"{file} holds plaintext");
        }
    }
}
