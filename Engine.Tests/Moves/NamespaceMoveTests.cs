using System.Text;
using Engine.Crypto;
using Engine.Moves;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Moves;

/// <summary>
/// Namespace moves between stores with different CMEKs and root keys (Engine/Moves): contents arrive
/// equal, the data frames are the source's ciphertext, no source key reaches the target, and every
/// failure (wrong CMEK, tampering, missing file, existing name, cancellation) leaves the target as it was.
/// </summary>
public sealed class NamespaceMoveTests : IDisposable
{
    private readonly TestStoreDirectory _source = new();
    private readonly TestStoreDirectory _target = new();
    private readonly string _exportDir;

    public NamespaceMoveTests()
    {
        _exportDir = Path.Combine(_source.Root, "export");
    }

    public void Dispose()
    {
        _source.Dispose();
        _target.Dispose();
    }

    /// <summary>
    /// Writes <paramref name="count"/> keys in two flushed batches (overlapping L0 files) plus a flushed
    /// batch of deletes (three L0 files, under RocksDB's compaction trigger of four); with
    /// <paramref name="compactFirst"/> the first batch is compacted to the bottom level first (files on two levels).
    /// Returns the expected view.
    /// </summary>
    internal static SortedDictionary<string, string> Fill(EncryptedStore store, string ns, int count, string tag = "v", bool compactFirst = false)
    {
        StoreNamespace n = store.GetNamespace(ns);
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int batch = 0; batch < 2; batch++)
        {
            if (batch == 1 && compactFirst)
            {
                store.Compact();
            }
            for (int i = batch; i < count; i += 2)
            {
                string key = $"key-{i:D6}";
                string value = $"{tag}-canary-{i}-{batch}";
                n.Put(key, value);
                expected[key] = value;
            }
            store.Flush();
        }
        for (int i = 0; i < count; i += 10)
        {
            string key = $"key-{i:D6}";
            n.Delete(key);
            expected.Remove(key);
        }
        store.Flush();
        return expected;
    }

    internal static SortedDictionary<string, string> Contents(EncryptedStore store, string ns)
    {
        var seen = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> kv in store.GetNamespace(ns).Scan((string?)null, null))
        {
            seen[kv.Key] = kv.Value;
        }
        return seen;
    }

    [Fact]
    public async Task A_namespace_moves_between_stores_with_different_keys_and_its_frames_stay_the_source_ciphertext()
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        SortedDictionary<string, string> expected = Fill(source, "orders", 600, compactFirst: true);
        target.GetNamespace("other").Put("unrelated", "stays");

        NamespaceExportResult exported = await source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri);
        Assert.True(exported.FileCount >= 3, $"expected SSTs on two levels, got {exported.FileCount} files");

        // Frames (everything after the 1024-byte header region) are the source's ciphertext byte for byte.
        string sourceDir = source.Layout.NamespaceDirectory(source.Session.Registry.Namespaces.Single(n => n.Name == "orders").Id);
        foreach (string copy in Directory.EnumerateFiles(_exportDir, "*.sst"))
        {
            byte[] exportedBytes = File.ReadAllBytes(copy);
            byte[] sourceBytes = File.ReadAllBytes(Path.Combine(sourceDir, Path.GetFileName(copy)));
            Assert.Equal(sourceBytes.Length, exportedBytes.Length);
            Assert.True(sourceBytes.AsSpan(1024).SequenceEqual(exportedBytes.AsSpan(1024)), $"{copy}: frames differ from the source");
            Assert.False(sourceBytes.AsSpan(0, 1024).SequenceEqual(exportedBytes.AsSpan(0, 1024)), $"{copy}: header was not re-wrapped");
        }
        AssertNoCanary(_exportDir);

        byte[] sourceKek = KekBytes(source, "orders");
        NamespaceImportResult imported = await target.ImportNamespaceAsync(_exportDir, "orders");
        Assert.Equal(source.StoreId, imported.SourceStoreId);
        Assert.Equal(exported.FileCount, imported.FileCount);

        Assert.Equal(expected, Contents(target, "orders"));
        Assert.Equal("stays", target.GetNamespace("other").Get("unrelated"));
        Assert.DoesNotContain(target.Session.KeyHandles, k => Lease(k).SequenceEqual(sourceKek));

        // The moved namespace is a normal one: it takes writes, survives reopen, and the source can shred its copy.
        target.GetNamespace("orders").Put("after-move", "x");
        source.DeleteNamespace("orders");
        target.Dispose();
        using EncryptedStore reopened = _target.Open();
        expected["after-move"] = "x";
        Assert.Equal(expected, Contents(reopened, "orders"));
        Assert.Empty(Directory.EnumerateFiles(reopened.Layout.NamespaceDirectory(reopened.Session.Registry.Namespaces.Single(n => n.Name == "orders").Id), "move-*"));
        AssertNoCanary(_target.StorePath);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_bulk_imported_value_over_an_older_put_moves_as_the_newer_value(bool compact)
    {
        // Found by the directory model (seed 14431758727670914291,11347264495918430841,40): the
        // compaction moves both files down without merging them, and RocksDB 7.8.3's import read the
        // ingested file's keys at sequence 0 (its sequence number lives only in the MANIFEST), so
        // the older put won in the target.
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        StoreNamespace n = source.GetNamespace("n");
        n.Put("k", "old");
        n.BulkImport([new KeyValuePair<byte[], byte[]>("k"u8.ToArray(), "new"u8.ToArray())]);
        if (compact)
        {
            source.Compact();
        }
        Assert.Equal("new", n.Get("k"));

        await source.ExportNamespaceAsync("n", _exportDir, _target.CmekUri);
        await target.ImportNamespaceAsync(_exportDir, "n");

        Assert.Equal("new", target.GetNamespace("n").Get("k"));
    }

    [Fact]
    public async Task An_empty_namespace_moves_and_is_a_normal_namespace_in_the_target()
    {
        // Found by the directory model (seed 8023132598010292940,2692518515798776105,33): RocksDB
        // refuses a column-family import of no files, so moving a namespace without data failed.
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        source.GetNamespace("empty").Get("nothing");
        source.Flush();

        NamespaceExportResult exported = await source.ExportNamespaceAsync("empty", _exportDir, _target.CmekUri);
        Assert.Equal(0, exported.FileCount);
        NamespaceImportResult imported = await target.ImportNamespaceAsync(_exportDir, "empty");
        Assert.Equal(0, imported.FileCount);

        Assert.Empty(Contents(target, "empty"));
        target.GetNamespace("empty").Put("after-move", "x");
        target.Dispose();
        using EncryptedStore reopened = _target.Open();
        Assert.Equal(new SortedDictionary<string, string>(StringComparer.Ordinal) { ["after-move"] = "x" }, Contents(reopened, "empty"));
    }

    [Fact]
    public async Task A_wrong_target_cmek_is_key_unavailable_and_the_target_is_untouched()
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        Fill(source, "orders", 60);
        string otherKey = _target.CreateOtherKey();
        await source.ExportNamespaceAsync("orders", _exportDir, "file:" + otherKey);
        string[] before = Snapshot(_target.StorePath);

        await Assert.ThrowsAsync<KeyUnavailableException>(() => target.ImportNamespaceAsync(_exportDir, "orders"));

        Assert.Empty(target.ListNamespaces());
        Assert.Equal(before, Snapshot(_target.StorePath));
    }

    public enum Damage
    {
        ManifestBit,
        FileFrameBit,
        FileHeaderBit,
        MissingFile,
        MissingManifest,
        TruncatedFile,
    }

    [Theory]
    [InlineData(Damage.ManifestBit)]
    [InlineData(Damage.FileFrameBit)]
    [InlineData(Damage.FileHeaderBit)]
    [InlineData(Damage.MissingFile)]
    [InlineData(Damage.MissingManifest)]
    [InlineData(Damage.TruncatedFile)]
    public async Task A_damaged_export_is_an_integrity_error_and_the_target_is_untouched(Damage damage)
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        Fill(source, "orders", 90);
        await source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri);
        string manifest = Path.Combine(_exportDir, ExportManifest.FileName);
        string sst = Directory.EnumerateFiles(_exportDir, "*.sst").Order(StringComparer.Ordinal).First();
        switch (damage)
        {
            case Damage.ManifestBit:
                FlipBit(manifest, new FileInfo(manifest).Length - 40);
                break;
            case Damage.FileFrameBit:
                FlipBit(sst, 1024 + 100);
                break;
            case Damage.FileHeaderBit:
                FlipBit(sst, 60);
                break;
            case Damage.MissingFile:
                File.Delete(sst);
                break;
            case Damage.MissingManifest:
                File.Delete(manifest);
                break;
            case Damage.TruncatedFile:
                using (var f = new FileStream(sst, FileMode.Open))
                {
                    f.SetLength(f.Length - 1);
                }
                break;
        }
        string[] before = Snapshot(_target.StorePath);

        await Assert.ThrowsAsync<IntegrityException>(() => target.ImportNamespaceAsync(_exportDir, "orders"));

        Assert.Empty(target.ListNamespaces());
        Assert.Equal(before, Snapshot(_target.StorePath));
    }

    [Fact]
    public async Task Importing_over_an_existing_name_is_refused_and_changes_nothing()
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        Fill(source, "orders", 30);
        target.GetNamespace("orders").Put("mine", "kept");
        await source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri);

        NamespaceExistsException e = await Assert.ThrowsAsync<NamespaceExistsException>(() => target.ImportNamespaceAsync(_exportDir, "orders"));

        Assert.Contains("'orders'", e.Message, StringComparison.Ordinal);
        Assert.Equal(new SortedDictionary<string, string>(StringComparer.Ordinal) { ["mine"] = "kept" }, Contents(target, "orders"));
    }

    [Fact]
    public async Task A_cancelled_import_leaves_no_namespace_and_no_files()
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        SortedDictionary<string, string> expected = Fill(source, "orders", 90);
        await source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri);
        uint nextId = target.Session.Registry.NextNamespaceId;

        using var cts = new CancellationTokenSource();
        NamespaceImporter.FaultPoint = point =>
        {
            if (point == "staged")
            {
                cts.Cancel();
            }
        };
        try
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => target.ImportNamespaceAsync(_exportDir, "orders", cts.Token));
        }
        finally
        {
            NamespaceImporter.FaultPoint = null;
        }

        Assert.Empty(target.ListNamespaces());
        Assert.Empty(target.Session.Registry.PendingShreds);
        Assert.False(Directory.Exists(target.Layout.NamespaceDirectory(nextId)), "the staged files were left behind");
        // The export is intact and imports afterwards.
        await target.ImportNamespaceAsync(_exportDir, "orders");
        Assert.Equal(expected, Contents(target, "orders"));
    }

    [Fact]
    public async Task A_namespace_being_imported_cannot_be_used_until_the_import_commits()
    {
        using EncryptedStore source = _source.Open();
        using EncryptedStore target = _target.Open();
        SortedDictionary<string, string> expected = Fill(source, "orders", 30);
        await source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri);
        Exception? during = null;
        NamespaceImporter.FaultPoint = point =>
        {
            if (point == "staged")
            {
                during = Record.Exception(() => target.GetNamespace("orders"));
            }
        };
        try
        {
            await target.ImportNamespaceAsync(_exportDir, "orders");
        }
        finally
        {
            NamespaceImporter.FaultPoint = null;
        }

        Assert.IsType<InvalidOperationException>(during);
        Assert.Equal(expected, Contents(target, "orders"));
    }

    [Fact]
    public async Task A_cancelled_export_leaves_nothing_behind()
    {
        using EncryptedStore source = _source.Open();
        Fill(source, "orders", 30);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri, cts.Token));

        Assert.False(Directory.Exists(_exportDir), "a cancelled export left its directory");
        Assert.Equal(["orders"], source.ListNamespaces());
    }

    [Fact]
    public async Task An_export_refuses_a_non_empty_directory_and_an_unknown_namespace()
    {
        using EncryptedStore source = _source.Open();
        Fill(source, "orders", 10);
        Directory.CreateDirectory(_exportDir);
        File.WriteAllText(Path.Combine(_exportDir, "keep.txt"), "mine");

        await Assert.ThrowsAsync<ArgumentException>(() => source.ExportNamespaceAsync("orders", _exportDir, _target.CmekUri));
        await Assert.ThrowsAsync<ArgumentException>(() => source.ExportNamespaceAsync("nope", Path.Combine(_source.Root, "e2"), _target.CmekUri));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(_exportDir, "keep.txt")));
    }

    internal static void AssertNoCanary(string dir)
    {
        byte[] canary = Encoding.UTF8.GetBytes("-canary-");
        foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(canary) < 0, $"plaintext found in {file}");
        }
    }

    /// <summary>Names, sizes and contents of every file (the LOCK file aside, which is empty).</summary>
    internal static string[] Snapshot(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith("/LOG", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => Directory.Exists(p) ? p + "/" : p + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p))))];

    internal static void FlipBit(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x10));
    }

    private static byte[] KekBytes(EncryptedStore store, string ns) =>
        store.Run(s =>
        {
            uint id = s.Registry.Namespaces.Single(n => n.Name == ns).Id;
            return Lease(s.Registry.GetCurrentKek(KeyScope.ForNamespace(id)));
        });

    private static byte[] Lease(SecretKey key)
    {
        if (!key.TryLease(out KeyLease lease))
        {
            return [];
        }
        using (lease)
        {
            return lease.Key.ToArray();
        }
    }
}
