using Engine.Crypto;
using Engine.Tests.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Issue 12, items 2-5, as an attacker with write access to the store directory would try them:
/// restored older registries, headers and stores (with and without a rollback anchor), forged and
/// empty shred markers, registry byte flips with and without a fixed checksum, a deleted KEYRING, and
/// a store swapped for another one. Each mutation is refused or ignored; none loses or changes data.
/// </summary>
public sealed class RegistryTamperTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Registry => Path.Combine(_dir.StorePath, KeyRegistry.FileName);

    private string Previous => Path.Combine(_dir.StorePath, KeyRegistry.PreviousFileName);

    private string AnchorPath => Path.Combine(_dir.Root, "anchor");

    private EncryptedStore OpenAnchored(Action<StoreOptions>? more = null) => _dir.Open(o =>
    {
        o.RollbackAnchor = new FileRollbackAnchor(AnchorPath);
        more?.Invoke(o);
    });

    private uint CreateWithData(string ns = "tenant", string value = "v1")
    {
        using EncryptedStore store = _dir.Open();
        store.GetNamespace("other").Put("k", "keep");
        StoreNamespace target = store.GetNamespace(ns);
        target.Put("k", value, sync: true);
        store.Flush();
        return target.Info.Id;
    }

    private static void CopyTree(string from, string to)
    {
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true);
        }
    }

    private static void ReplaceTree(string snapshot, string target)
    {
        Directory.Delete(target, recursive: true);
        CopyTree(snapshot, target);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_forged_or_empty_shred_marker_deletes_nothing_and_is_reported(bool withName)
    {
        uint id = CreateWithData();
        string marker = Path.Combine(_dir.StorePath, StoreLayout.NamespacesDir, $"{id}.shred");
        File.WriteAllText(marker, withName ? "tenant" : string.Empty);

        using EncryptedStore store = _dir.Open();

        Assert.Contains("tenant", store.ListNamespaces());
        Assert.Equal("v1", store.GetNamespace("tenant").Get("k"));
        Assert.Contains(store.OpenNotes, n => n.Contains("ignored the unauthenticated marker file", StringComparison.Ordinal));
    }

    [Fact]
    public void A_pending_shred_lives_in_the_registry_and_no_name_is_written_in_plaintext()
    {
        CreateWithData("secret-tenant-name");
        using (EncryptedStore store = _dir.Open())
        {
            store.DeleteNamespace("secret-tenant-name");
            Assert.DoesNotContain("secret-tenant-name", store.ListNamespaces());
        }

        byte[] name = "secret-tenant-name"u8.ToArray();
        Assert.All(_dir.StoreFiles(), f => Assert.Equal(-1, File.ReadAllBytes(f).AsSpan().IndexOf(name)));
        using EncryptedStore reopened = _dir.Open();
        Assert.Equal("keep", reopened.GetNamespace("other").Get("k"));
        Assert.Empty(reopened.OpenNotes);
    }

    [Fact]
    public void A_deleted_keyring_next_to_its_previous_generation_is_an_integrity_error()
    {
        CreateWithData();
        Assert.True(File.Exists(Previous));
        File.Delete(Registry);

        var e = Assert.Throws<IntegrityException>(() => _dir.Open());
        Assert.Contains(KeyRegistry.FileName, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_torn_keyring_falls_back_with_a_note_and_never_below_the_anchor()
    {
        CreateWithData();
        using (EncryptedStore anchored = OpenAnchored())
        {
            anchored.GetNamespace("tenant").Put("k", "v2", sync: true);
        }

        byte[] raw = File.ReadAllBytes(Registry);
        raw[^30] ^= 1; // checksum not fixed: provably torn
        File.WriteAllBytes(Registry, raw);

        // The previous generation is older than the anchor's epoch: refused.
        Assert.Throws<IntegrityException>(() => OpenAnchored());

        // Without the anchor the fallback is taken and said.
        using EncryptedStore store = _dir.Open();
        Assert.Contains(store.OpenNotes, n => n.Contains("fallback", StringComparison.Ordinal) && n.Contains("checksum", StringComparison.Ordinal));
        Assert.Equal("v2", store.GetNamespace("tenant").Get("k"));
    }

    [Theory]
    [InlineData(8 + 2 + 2)] // first byte of the store id
    [InlineData(8 + 2 + 2 + 15)] // last byte of the store id
    public void A_flipped_store_id_byte_with_a_fixed_checksum_is_an_integrity_error(int offset)
    {
        CreateWithData();
        byte[] raw = File.ReadAllBytes(Registry);
        raw[offset] ^= 0x20;
        CryptoTestSupport.FixRegistryChecksum(raw);
        File.WriteAllBytes(Registry, raw);

        var e = Assert.Throws<IntegrityException>(() => _dir.Open());
        Assert.Contains("store", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flipped_body_byte_with_a_fixed_checksum_is_tampering_not_a_fallback()
    {
        CreateWithData();
        byte[] raw = File.ReadAllBytes(Registry);
        raw[^20] ^= 1;
        CryptoTestSupport.FixRegistryChecksum(raw);
        File.WriteAllBytes(Registry, raw);

        var e = Assert.Throws<IntegrityException>(() => _dir.Open());
        Assert.Contains(KeyRegistry.FileName, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_epoch_grows_with_every_registry_write_and_clean_close()
    {
        ulong first;
        using (EncryptedStore store = _dir.Open())
        {
            first = store.Epoch;
            store.GetNamespace("a");
            Assert.Equal(first + 1, store.Epoch);
        }

        using EncryptedStore again = _dir.Open();
        Assert.Equal(first + 2, again.Epoch);
    }

    [Fact]
    public void Restoring_an_older_whole_store_fails_with_an_anchor_and_opens_without_one()
    {
        CreateWithData();
        string snapshot = Path.Combine(_dir.Root, "snapshot");
        using (OpenAnchored())
        {
        }

        CopyTree(_dir.StorePath, snapshot);
        using (EncryptedStore store = OpenAnchored())
        {
            store.GetNamespace("tenant").Put("k", "v2", sync: true);
        }

        ReplaceTree(snapshot, _dir.StorePath);

        var e = Assert.Throws<IntegrityException>(() => OpenAnchored());
        Assert.Contains("rollback anchor", e.Message, StringComparison.Ordinal);

        // Without an anchor the older store is indistinguishable from a current one (documented).
        using EncryptedStore unanchored = _dir.Open();
        Assert.Equal("v1", unanchored.GetNamespace("tenant").Get("k"));
    }

    [Fact]
    public void Restoring_older_data_files_under_the_current_registry_is_an_integrity_error()
    {
        CreateWithData();
        string snapshot = Path.Combine(_dir.Root, "snapshot");
        using (OpenAnchored())
        {
        }

        CopyTree(_dir.StorePath, snapshot);
        using (EncryptedStore store = OpenAnchored())
        {
            store.GetNamespace("tenant").Put("k", "v2", sync: true);
            store.GetNamespace("other").Delete("k", sync: true);
        }

        byte[] registry = File.ReadAllBytes(Registry);
        byte[] previous = File.ReadAllBytes(Previous);
        ReplaceTree(snapshot, _dir.StorePath);
        File.WriteAllBytes(Registry, registry);
        File.WriteAllBytes(Previous, previous);

        // Issue 12, item 2: every file but the key registry from an older copy. The record of live log
        // files names the epoch it was written at; the registry in force is newer.
        foreach (Func<EncryptedStore> open in new Func<EncryptedStore>[] { () => OpenAnchored(), () => _dir.Open() })
        {
            var e = Assert.Throws<IntegrityException>(open);
            Assert.Contains("epoch", e.Message, StringComparison.Ordinal);
        }

        // The older copy together with its own registry is a whole older store: it opens without an anchor
        // (the documented limit), never as a mix.
        ReplaceTree(snapshot, _dir.StorePath);
        using EncryptedStore older = _dir.Open();
        Assert.Equal("v1", older.GetNamespace("tenant").Get("k"));
    }

    [Fact]
    public void Data_files_copied_from_a_running_store_restored_under_the_current_registry_read_as_a_crash_of_that_state()
    {
        // The documented limit (docs/format.md, threat model): a copy taken while the store was open
        // carries an open live-log record, which may name any epoch up to the registry's.
        CreateWithData();
        string snapshot = Path.Combine(_dir.Root, "snapshot");
        using (EncryptedStore store = OpenAnchored())
        {
            store.GetNamespace("tenant").Put("k", "v-open", sync: true);
            CopyTree(_dir.StorePath, snapshot);
            store.GetNamespace("tenant").Put("k", "v-later", sync: true);
        }

        byte[] registry = File.ReadAllBytes(Registry);
        byte[] previous = File.ReadAllBytes(Previous);
        ReplaceTree(snapshot, _dir.StorePath);
        File.Delete(Path.Combine(_dir.StorePath, "LOCK"));
        File.WriteAllBytes(Registry, registry);
        File.WriteAllBytes(Previous, previous);

        using EncryptedStore restored = OpenAnchored();
        Assert.Equal("v-open", restored.GetNamespace("tenant").Get("k"));
    }

    [Fact]
    public async Task Restoring_the_pre_rotation_registry_and_headers_cannot_make_a_retired_kek_current_with_an_anchor()
    {
        CreateWithData();
        string ns = Path.Combine(_dir.StorePath, StoreLayout.NamespacesDir);
        byte[] registry;
        byte[] previous;
        Dictionary<string, byte[]> headers;
        using (EncryptedStore store = OpenAnchored())
        {
            registry = File.ReadAllBytes(Registry);
            previous = File.ReadAllBytes(Previous);
            headers = Directory.EnumerateFiles(ns, "*.sst", SearchOption.AllDirectories).ToDictionary(f => f, f => File.ReadAllBytes(f).AsSpan(0, 1024).ToArray());
            store.Keys.RotateNamespaceKey("tenant");
            await store.Keys.WaitForRotationsAsync();
        }

        File.WriteAllBytes(Registry, registry);
        File.WriteAllBytes(Previous, previous);
        foreach ((string file, byte[] header) in headers.Where(h => File.Exists(h.Key)))
        {
            using FileStream stream = File.OpenWrite(file);
            stream.Write(header);
        }

        Assert.Throws<IntegrityException>(() => OpenAnchored());
    }

    [Fact]
    public void Restoring_the_pre_rotation_registry_after_a_root_key_rotation_is_an_integrity_error_with_an_anchor()
    {
        CreateWithData();
        byte[] registry;
        byte[] previous;
        using (EncryptedStore store = OpenAnchored())
        {
            registry = File.ReadAllBytes(Registry);
            previous = File.ReadAllBytes(Previous);
            store.Keys.RotateRootKey();
            store.GetNamespace("tenant").Put("k", "v2", sync: true);
        }

        File.WriteAllBytes(Registry, registry);
        File.WriteAllBytes(Previous, previous);

        var e = Assert.Throws<IntegrityException>(() => OpenAnchored());
        Assert.Contains("rollback anchor", e.Message, StringComparison.Ordinal);

        // Without the anchor the store's own files give it away: the record of live log files was
        // written at the epoch of the clean close, later than the restored registry's.
        var unanchored = Assert.Throws<IntegrityException>(() => _dir.Open());
        Assert.Contains("epoch", unanchored.Message, StringComparison.Ordinal);
        Assert.EndsWith(Engine.Files.LiveLogRecord.FileName, unanchored.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retired_namespace_kek_version_never_becomes_current_again()
    {
        CreateWithData();
        var generations = new List<(string When, byte[] Registry, byte[] Previous)>();
        void Keep(string when) => generations.Add((when, File.ReadAllBytes(Registry), File.ReadAllBytes(Previous)));
        byte[] current;
        byte[] currentPrevious;
        using (EncryptedStore store = OpenAnchored())
        {
            Keep("before the rotations");
            for (int round = 0; round < 2; round++)
            {
                KekRotation rotation = store.Keys.RotateNamespaceKey("tenant");
                Keep($"rotation {round + 1} started (old and new versions held)");
                await rotation.Completion;
                Keep($"rotation {round + 1} retired the old version");
                store.GetNamespace("tenant").Put("k", $"after rotation {round + 1}", sync: true);
                store.Flush();
            }

            ScopeKeyStatus tenant = Assert.Single(store.Keys.Status().Scopes, s => s.Name == "tenant");
            Assert.Equal(3u, tenant.CurrentVersion);
            Assert.Equal([3u], tenant.RegistryVersions);
        }

        current = File.ReadAllBytes(Registry); // after the clean close, which is itself a new generation
        currentPrevious = File.ReadAllBytes(Previous);

        // Every earlier generation (each holds a version retired since) is refused with the anchor.
        foreach ((string when, byte[] registry, byte[] previous) in generations)
        {
            File.WriteAllBytes(Registry, registry);
            File.WriteAllBytes(Previous, previous);
            var e = Assert.Throws<IntegrityException>(() => OpenAnchored());
            Assert.True(e.Message.Contains("rollback anchor", StringComparison.Ordinal), $"{when}: {e.Message}");
        }

        // The store itself is untouched by the refused opens; a later rotation issues a new version, never an old one.
        File.WriteAllBytes(Registry, current);
        File.WriteAllBytes(Previous, currentPrevious);
        using EncryptedStore reopened = OpenAnchored();
        Assert.Equal("after rotation 2", reopened.GetNamespace("tenant").Get("k"));
        await reopened.Keys.RotateNamespaceKey("tenant").Completion;
        ScopeKeyStatus after = Assert.Single(reopened.Keys.Status().Scopes, s => s.Name == "tenant");
        Assert.Equal(4u, after.CurrentVersion);
        Assert.Equal([4u], after.RegistryVersions);
    }

    [Fact]
    public void An_anchor_record_of_another_store_or_forged_is_refused()
    {
        CreateWithData();
        using (OpenAnchored())
        {
        }

        byte[] record = File.ReadAllBytes(AnchorPath);
        record[^1] ^= 1;
        File.WriteAllBytes(AnchorPath, record);
        Assert.Throws<IntegrityException>(() => OpenAnchored());
    }

    [Fact]
    public void A_store_swapped_for_another_under_the_same_key_fails_when_the_store_id_is_pinned()
    {
        string expected;
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("tenant").Put("k", "real");
            expected = store.StoreId;
        }

        Assert.Matches("^[0-9a-f]{32}$", expected);
        string real = Path.Combine(_dir.Root, "real");
        Directory.Move(_dir.StorePath, real);
        using (EncryptedStore planted = _dir.Open())
        {
            planted.GetNamespace("tenant").Put("k", "planted");
        }

        var e = Assert.Throws<IntegrityException>(() => _dir.Open(o => o.ExpectedStoreId = expected));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);

        Directory.Delete(_dir.StorePath, recursive: true);
        Directory.Move(real, _dir.StorePath);
        using EncryptedStore pinned = _dir.Open(o => o.ExpectedStoreId = expected.ToUpperInvariant());
        Assert.Equal("real", pinned.GetNamespace("tenant").Get("k"));
    }

    [Fact]
    public void A_store_swapped_for_one_under_another_key_fails_when_the_cmek_is_pinned()
    {
        CreateWithData();
        string real = Path.Combine(_dir.Root, "real");
        Directory.Move(_dir.StorePath, real);
        string otherKey = _dir.CreateOtherKey();
        using (EncryptedStore planted = EncryptedStore.Open(new StoreOptions { Path = _dir.StorePath, CmekUri = "file:" + otherKey }))
        {
            planted.GetNamespace("tenant").Put("k", "planted");
        }

        // The application's URI is used, never the directory's.
        var e = Assert.Throws<KeyUnavailableException>(() => _dir.Open());
        Assert.Contains(otherKey, e.Message, StringComparison.Ordinal);
    }
}
