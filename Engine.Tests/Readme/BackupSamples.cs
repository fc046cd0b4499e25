using Engine.Backup;
using Engine.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Readme;

/// <summary>README "Backups that stay encrypted": compiled and run here, shown verbatim there.</summary>
public sealed class BackupSamples : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_README_sample_runs()
    {
        string backupDir = Path.Combine(_dir.Root, "backups");
        string restoredPath = Path.Combine(_dir.Root, "restored");
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("orders").Put("order/0001", "1");
            (BackupInfo first, BackupInfo second) = await Sample(store, backupDir, restoredPath, _dir.KeyPath);
            Assert.Equal(2, second.Id);
            Assert.True(second.NewBytes < second.TotalBytes);
            Assert.Equal(1, first.Id);
        }
        using EncryptedStore restored = EncryptedStore.Open(new StoreOptions { Path = restoredPath, CmekUri = _dir.CmekUri });
        Assert.Equal("1", restored.GetNamespace("orders").Get("order/0001"));
    }

    private static async Task<(BackupInfo, BackupInfo)> Sample(EncryptedStore store, string backupDir, string restoredPath, string keyFile)
    {
        CancellationToken ct = CancellationToken.None;
        // README-SAMPLE-BEGIN
        // Online: the store keeps serving writes; every write acknowledged before the call is in the backup.
        BackupInfo first = await store.Backups.CreateAsync(backupDir, ct);
        BackupInfo second = await store.Backups.CreateAsync(backupDir, ct);   // copies only new SSTs
        Console.WriteLine($"backup {second.Id}: {second.TotalBytes} bytes, {second.NewBytes} copied");

        // Elsewhere, with the same CMEK and no database open: authenticate every frame, then restore.
        using var cmek = LocalKeyFileCmek.Open(keyFile);
        BackupVerifyReport report = await StoreBackups.VerifyAsync(backupDir, id: null, cmek, ct);
        await StoreBackups.RestoreAsync(backupDir, second.Id, restoredPath, cmek, ct);  // target: new or empty
        // README-SAMPLE-END
        Assert.Equal(second.FileCount, report.FilesChecked);
        return (first, second);
    }
}
