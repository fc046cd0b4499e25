using System.Diagnostics;
using System.Globalization;
using System.Text;
using Engine.Backup;
using Engine.Crypto;
using Xunit.Abstractions;

namespace Engine.Tests.Backup;

/// <summary>
/// Backup and restore times of the 1M-key bench store (16-byte keys, 100-byte values ~50% compressible,
/// as Engine.Bench's macro runner): full backup, incremental after 10k more keys, verify, restore.
/// Runs only with EKV_BACKUP_BENCH=1 (minutes of I/O); recorded in Engine.Bench/results/backup.md.
/// </summary>
public sealed class BackupTimingTests(ITestOutputHelper output) : IDisposable
{
    private readonly BackupFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Backup_and_restore_of_the_1m_key_store()
    {
        if (Environment.GetEnvironmentVariable("EKV_BACKUP_BENCH") != "1")
        {
            output.WriteLine("skipped: set EKV_BACKUP_BENCH=1");
            return;
        }
        var lines = new List<string>();
        void Report(string what, TimeSpan t, BackupInfo? info = null)
        {
            string line = string.Create(CultureInfo.InvariantCulture, $"| {what} | {t.TotalSeconds:F2} s | {(info is null ? "" : $"{info.TotalBytes / 1048576.0:F1} MiB, {info.NewBytes / 1048576.0:F2} MiB copied, {info.FileCount} files")} |");
            lines.Add(line);
            output.WriteLine(line);
        }
        using (EncryptedStore store = _f.Dir.Open())
        {
            StoreNamespace ns = store.GetNamespace("bench");
            ns.BulkImport(Entries("k", 1_000_000, 1));
            store.Compact();
            var clock = Stopwatch.StartNew();
            BackupInfo full = await store.Backups.CreateAsync(_f.BackupDir);
            Report("full backup (1M keys)", clock.Elapsed, full);
            ns.BulkImport(Entries("m", 10_000, 2));
            clock.Restart();
            BackupInfo incremental = await store.Backups.CreateAsync(_f.BackupDir);
            Report("incremental backup (+10k keys, imported)", clock.Elapsed, incremental);
            for (int i = 0; i < 10_000; i++)
            {
                ns.Put($"p{i:D15}", "value-written-by-put-" + i);
            }
            clock.Restart();
            BackupInfo afterPuts = await store.Backups.CreateAsync(_f.BackupDir);
            Report("incremental backup (+10k keys by Put, in the memtable: flushed by the backup)", clock.Elapsed, afterPuts);
        }
        using LocalKeyFileCmek cmek = _f.Cmek();
        var c = Stopwatch.StartNew();
        await StoreBackups.VerifyAsync(_f.BackupDir, 3, cmek);
        Report("verify (every frame of backup 3)", c.Elapsed);
        c.Restart();
        await StoreBackups.RestoreAsync(_f.BackupDir, 3, _f.Target(), cmek);
        Report("restore (verify + copy of backup 3)", c.Elapsed);
        c.Restart();
        using EncryptedStore restored = _f.OpenRestored(_f.Target());
        Report("open of the restored store", c.Elapsed);
        Assert.Equal(1_020_000, restored.GetNamespace("bench").Scan().Count());
        File.WriteAllLines(Path.Combine(Path.GetTempPath(), "ekv-backup-timing.md"), lines);
    }

    private static IEnumerable<KeyValuePair<byte[], byte[]>> Entries(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        byte[] alphabet = Encoding.ASCII.GetBytes("abcdefghijklmnopqrstuvwxyz0123456789");
        for (int i = 0; i < count; i++)
        {
            byte[] value = new byte[100];
            for (int j = 0; j < 50; j++)
            {
                value[j] = alphabet[random.Next(alphabet.Length)];
            }
            value.AsSpan(50).Fill((byte)'x');
            yield return new(Encoding.ASCII.GetBytes($"{prefix}{i:D15}"), value);
        }
    }
}
