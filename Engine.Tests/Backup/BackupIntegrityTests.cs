using Engine.Backup;
using Engine.Crypto;

namespace Engine.Tests.Backup;

/// <summary>Verify and restore refuse every damaged, missing or forged part of a backup, and refuse to damage a target.</summary>
public sealed class BackupIntegrityTests : IDisposable
{
    private readonly BackupFixture _f = new();

    public void Dispose() => _f.Dispose();

    /// <summary>Two backups of a store with flushed data in two namespaces (the second after more writes).</summary>
    private async Task TwoBackups()
    {
        using EncryptedStore store = _f.Dir.Open();
        for (int i = 0; i < 300; i++)
        {
            store.GetNamespace("a").Put($"k{i:D4}", $"value-{i}");
            store.GetNamespace("b").Put($"k{i:D4}", $"other-{i}");
        }
        store.Flush();
        await store.Backups.CreateAsync(_f.BackupDir);
        store.GetNamespace("a").Put("second", "2");
        await store.Backups.CreateAsync(_f.BackupDir);
    }

    private async Task<Exception> VerifyFails(long id)
    {
        using LocalKeyFileCmek cmek = _f.Cmek();
        return await Assert.ThrowsAnyAsync<EngineException>(() => StoreBackups.VerifyAsync(_f.BackupDir, id, cmek));
    }

    private string SharedSst() => Directory.GetFiles(Path.Combine(_f.BackupDir, "shared"), "*.sst", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();

    [Fact]
    public async Task Intact_backups_verify()
    {
        await TwoBackups();
        using LocalKeyFileCmek cmek = _f.Cmek();
        Assert.Equal(1, (await StoreBackups.VerifyAsync(_f.BackupDir, 1, cmek)).Backup.Id);
        Assert.Equal(2, (await StoreBackups.VerifyAsync(_f.BackupDir, null, cmek)).Backup.Id);
    }

    [Fact]
    public async Task A_flipped_byte_in_a_shared_sst_fails_both_backups_that_use_it()
    {
        await TwoBackups();
        string sst = SharedSst();
        byte[] bytes = File.ReadAllBytes(sst);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(sst, bytes);
        Assert.IsType<IntegrityException>(await VerifyFails(1));
        Assert.IsType<IntegrityException>(await VerifyFails(2));
    }

    [Fact]
    public async Task A_truncated_manifest_copy_fails()
    {
        await TwoBackups();
        string manifest = Directory.GetFiles(Path.Combine(_f.BackupDir, "backup-000001"), "MANIFEST-*").Single();
        using (var stream = new FileStream(manifest, FileMode.Open))
        {
            stream.SetLength(stream.Length - 40);
        }
        Assert.IsType<IntegrityException>(await VerifyFails(1));
    }

    [Fact]
    public async Task A_missing_file_fails()
    {
        await TwoBackups();
        File.Delete(SharedSst());
        Exception e = await VerifyFails(1);
        Assert.IsType<IntegrityException>(e);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
        File.Delete(Path.Combine(_f.BackupDir, "backup-000002", "KEYRING"));
        Assert.IsType<IntegrityException>(await VerifyFails(2));
    }

    [Fact]
    public async Task A_forged_or_swapped_manifest_fails()
    {
        await TwoBackups();
        string one = Path.Combine(_f.BackupDir, "backup-000001.manifest");
        string two = Path.Combine(_f.BackupDir, "backup-000002.manifest");
        byte[] original = File.ReadAllBytes(one);

        // Backup 2's (authentic) manifest under backup 1's name.
        File.Copy(two, one, overwrite: true);
        Assert.IsType<IntegrityException>(await VerifyFails(1));

        // A flipped byte in the sealed body, and one in the plaintext header (file count).
        byte[] body = (byte[])original.Clone();
        body[^20] ^= 0x40;
        File.WriteAllBytes(one, body);
        Assert.IsType<IntegrityException>(await VerifyFails(1));
        byte[] header = (byte[])original.Clone();
        header[54] ^= 0x01;
        File.WriteAllBytes(one, header);
        Assert.IsType<IntegrityException>(await VerifyFails(1));
    }

    [Fact]
    public async Task Restore_with_the_wrong_cmek_is_key_unavailable_and_writes_nothing()
    {
        await TwoBackups();
        using LocalKeyFileCmek other = LocalKeyFileCmek.Open(_f.Dir.CreateOtherKey());
        string target = _f.Target();
        await Assert.ThrowsAsync<KeyUnavailableException>(() => StoreBackups.RestoreAsync(_f.BackupDir, null, target, other));
        Assert.False(Directory.Exists(target));
        await Assert.ThrowsAsync<KeyUnavailableException>(() => StoreBackups.VerifyAsync(_f.BackupDir, null, other));
    }

    [Fact]
    public async Task Restore_into_a_non_empty_directory_is_refused_and_leaves_it_alone()
    {
        await TwoBackups();
        string target = _f.Target();
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "precious.txt"), "keep me");
        using LocalKeyFileCmek cmek = _f.Cmek();
        ArgumentException e = await Assert.ThrowsAsync<ArgumentException>(() => StoreBackups.RestoreAsync(_f.BackupDir, null, target, cmek));
        Assert.Contains("not empty", e.Message, StringComparison.Ordinal);
        Assert.Equal(["precious.txt"], Directory.GetFileSystemEntries(target).Select(Path.GetFileName));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(target, "precious.txt")));
        // An empty existing directory is fine.
        string empty = _f.Target("empty");
        Directory.CreateDirectory(empty);
        await StoreBackups.RestoreAsync(_f.BackupDir, 1, empty, cmek);
        using EncryptedStore restored = _f.OpenRestored(empty);
        Assert.Equal("value-7", restored.GetNamespace("a").Get("k0007"));
        Assert.Null(restored.GetNamespace("a").Get("second"));
    }

    [Fact]
    public async Task A_damaged_backup_is_not_restored_and_the_target_stays_missing()
    {
        await TwoBackups();
        string sst = SharedSst();
        byte[] bytes = File.ReadAllBytes(sst);
        bytes[2000] ^= 0x80;
        File.WriteAllBytes(sst, bytes);
        using LocalKeyFileCmek cmek = _f.Cmek();
        await Assert.ThrowsAsync<IntegrityException>(() => StoreBackups.RestoreAsync(_f.BackupDir, 1, _f.Target(), cmek));
        Assert.False(Directory.Exists(_f.Target()));
    }

    [Fact]
    public async Task A_cancelled_backup_is_not_listed_and_leaves_no_files()
    {
        await TwoBackups();
        string[] before = Directory.GetFiles(_f.BackupDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        using (EncryptedStore store = _f.Dir.Open())
        {
            store.GetNamespace("a").Put("third", "3");
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.Backups.CreateAsync(_f.BackupDir, cts.Token));
            Assert.False(Directory.Exists(Path.Combine(store.Path, "ekv-backup-staging")));
        }
        Assert.Equal([1L, 2L], StoreBackups.List(_f.BackupDir).Select(b => b.Id));
        Assert.Equal(before, Directory.GetFiles(_f.BackupDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray());
    }
}

/// <summary>What a backup refuses: read-only and in-memory stores, a directory another backup writes, a directory inside the store.</summary>
public sealed class BackupRefusalTests : IDisposable
{
    private readonly BackupFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Read_only_in_memory_busy_directory_and_inside_the_store_are_refused()
    {
        using (EncryptedStore store = _f.Dir.Open())
        {
            store.GetNamespace("a").Put("k", "v");
            await Assert.ThrowsAsync<ArgumentException>(() => store.Backups.CreateAsync(Path.Combine(store.Path, "inside")));

            Directory.CreateDirectory(_f.BackupDir);
            using (new FileStream(Path.Combine(_f.BackupDir, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            {
                await Assert.ThrowsAsync<StoreInUseException>(() => store.Backups.CreateAsync(_f.BackupDir));
            }
            Assert.Empty(StoreBackups.List(_f.BackupDir));
        }
        using (EncryptedStore reader = _f.Dir.Open(o => o.ReadOnly = true))
        {
            await Assert.ThrowsAsync<StoreReadOnlyException>(() => reader.Backups.CreateAsync(_f.BackupDir));
        }
        using (EncryptedStore memory = EncryptedStore.Open(new StoreOptions { Path = _f.Target("mem"), InMemory = true, Cmek = _f.Cmek() }))
        {
            await Assert.ThrowsAsync<NotSupportedException>(() => memory.Backups.CreateAsync(_f.BackupDir));
        }
        Assert.Empty(StoreBackups.List(_f.BackupDir));
    }
}
