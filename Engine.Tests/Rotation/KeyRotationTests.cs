using Engine.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>Every rotation verb preserves all data (model check after each, and after a reopen).</summary>
public sealed class KeyRotationTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TestStoreDirectory _dir = new();
    private readonly ExpectedStoreContents _model = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Data in SSTs of several levels, in memtables and in the WAL, in three namespaces.</summary>
    private EncryptedStore OpenWithData(Action<StoreOptions>? configure = null)
    {
        EncryptedStore store = _dir.Open(configure);
        Fast(store);
        foreach (string ns in new[] { "alpha", "beta", "gamma" })
        {
            _model.Write(store, ns, 400);
            store.Flush();
            _model.Write(store, ns, 300);
            store.Flush();
            _model.Write(store, ns, 100); // stays in the memtable and WAL
        }

        return store;
    }

    private static void Fast(EncryptedStore store)
    {
        store.Keys.RotationFilesPerSecond = 0;
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        store.Keys.Worker.RetryDelay = TimeSpan.FromMilliseconds(200);
    }

    private EncryptedStore Reopen(EncryptedStore store)
    {
        store.Dispose();
        EncryptedStore reopened = _dir.Open(o => o.CmekUri = null); // from the URI the store recorded
        Fast(reopened);
        return reopened;
    }

    [Fact]
    public void Cmek_rotation_keeps_data_and_the_store_opens_with_the_new_key_only()
    {
        EncryptedStore store = OpenWithData();
        string newKey = _dir.CreateOtherKey("rotated.key");

        store.Keys.RotateCmek("file:" + newKey);

        Assert.Equal("file:" + newKey, store.CmekUri);
        _model.Check(store);
        store = Reopen(store);
        using (store)
        {
            Assert.Equal("file:" + newKey, store.CmekUri);
            _model.Check(store);
        }

        // Neither registry generation needs the old key any more.
        Assert.Throws<KeyUnavailableException>(() => _dir.Open().Dispose());
    }

    [Fact]
    public void Cmek_rotation_survives_a_lock_and_unlock()
    {
        EncryptedStore store = OpenWithData();
        using (store)
        {
            store.Keys.RotateCmek("file:" + _dir.CreateOtherKey("rotated.key"));
            store.Lock("test");
            store.Unlock();
            _model.Check(store);
        }
    }

    [Fact]
    public async Task Async_cmek_and_root_rotations_keep_data_and_the_store_opens_with_the_new_key_only()
    {
        EncryptedStore store = OpenWithData();
        string newKey = _dir.CreateOtherKey("rotated.key");
        byte[] before = File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName));

        await store.Keys.RotateCmekAsync("file:" + newKey);
        byte[] afterCmek = File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName));
        await store.Keys.RotateRootKeyAsync();

        Assert.NotEqual(before, afterCmek);
        Assert.NotEqual(afterCmek, File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName)));
        Assert.Equal("file:" + newKey, store.CmekUri);
        _model.Check(store);
        using (store = Reopen(store))
        {
            Assert.Equal("file:" + newKey, store.CmekUri);
            _model.Check(store);
            KeyAssert.AllCurrent(store);
        }

        Assert.Throws<KeyUnavailableException>(() => _dir.Open().Dispose());
    }

    [Fact]
    public async Task Async_rotation_with_a_cancelled_token_changes_nothing()
    {
        using EncryptedStore store = OpenWithData();
        byte[] before = File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName));
        string cmekUri = store.CmekUri;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.Keys.RotateRootKeyAsync(new CancellationToken(canceled: true)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.Keys.RotateCmekAsync("file:" + _dir.CreateOtherKey("unused.key"), new CancellationToken(canceled: true)));

        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName)));
        Assert.Equal(cmekUri, store.CmekUri);
        _model.Check(store);
    }

    [Fact]
    public void Root_rotation_keeps_data()
    {
        EncryptedStore store = OpenWithData();
        byte[] before = File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName));

        store.Keys.RotateRootKey();

        Assert.NotEqual(before, File.ReadAllBytes(Path.Combine(_dir.StorePath, KeyRegistry.FileName)));
        _model.Check(store);
        using (store = Reopen(store))
        {
            _model.Check(store);
            KeyAssert.AllCurrent(store);
        }
    }

    [Fact]
    public async Task Namespace_rotation_rewraps_every_header_and_retires_the_old_version()
    {
        // gamma was written last: two SSTs (no compaction yet) plus its memtable.
        EncryptedStore store = OpenWithData();
        using (store)
        {
            string[] old = [.. KeyAssert.ScopeFiles(store, store.Keys.Status().Scopes.Single(s => s.Name == "gamma"))];
            Assert.True(old.Length >= 2);

            store.Keys.RotationFilesPerSecond = 1;
            KekRotation rotation = store.Keys.RotateNamespaceKey("gamma");
            Assert.Equal(2u, rotation.NewVersion);
            _model.Write(store, "gamma", 50);
            store.Flush(); // a new file: wrapped under version 2 from the start, while version 1 files remain
            ScopeKeyStatus during = store.Keys.Status().Scopes.Single(s => s.Name == "gamma");
            Assert.True(during.RotationInProgress);
            Assert.True(during.Versions.Single(v => v.Version == 2).Files >= 1);
            store.Keys.RotationFilesPerSecond = 0;
            await rotation.Completion.WaitAsync(Patience);

            ScopeKeyStatus after = store.Keys.Status().Scopes.Single(s => s.Name == "gamma");
            Assert.Equal(2u, after.CurrentVersion);
            Assert.Equal([2u], after.RegistryVersions);
            Assert.Equal(1.0, after.Versions.Single(v => v.Version == 2).ByteShare, 9);
            // Re-wrapped files have both slots under version 2 (the old wrap is overwritten too).
            Assert.All(old, f => Assert.Equal(2u, HeaderSlots.ReadBoth(f).Other?.KekVersion));
            KeyAssert.AllCurrent(store);
            _model.Check(store);
        }

        using (store = Reopen(store))
        {
            _model.Check(store);
            Assert.Equal(KekLookup.Retired, store.Run(s => s.Registry.TryGetKek(KeyScope.ForNamespace(3), 1, out _)));
        }
    }

    [Fact]
    public async Task System_rotation_rewraps_wal_manifest_and_logs()
    {
        EncryptedStore store = OpenWithData();
        using (store)
        {
            KekRotation rotation = store.Keys.RotateSystemKey();
            _model.Write(store, "alpha", 20);
            await rotation.Completion.WaitAsync(Patience);
            KeyAssert.AllCurrent(store);
            _model.Check(store);
        }

        using (store = Reopen(store))
        {
            _model.Check(store);
            Assert.Equal(2u, store.Keys.Status().Scopes[0].CurrentVersion);
        }
    }

    [Fact]
    public async Task An_interrupted_rotation_resumes_at_the_next_open()
    {
        EncryptedStore store = OpenWithData();
        store.Keys.RotationFilesPerSecond = 2; // far too slow to finish before the close
        store.Keys.RotateNamespaceKey("gamma");
        store.Keys.RotateSystemKey();
        Assert.Contains(store.Keys.Status().Scopes, s => s.RotationInProgress);

        using (store = Reopen(store))
        {
            await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
            KeyAssert.AllCurrent(store);
            _model.Check(store);
        }
    }

    [Fact]
    public async Task Waiting_for_rotations_on_a_read_only_store_returns_at_once_and_the_rotation_resumes_later()
    {
        EncryptedStore store = OpenWithData();
        store.Keys.RotationFilesPerSecond = 0.5; // far too slow to finish before the close
        store.Keys.RotateNamespaceKey("gamma");
        Assert.Contains(store.Keys.Status().Scopes, s => s.RotationInProgress);
        store.Dispose();

        using (EncryptedStore readOnly = _dir.Open(o =>
        {
            o.CmekUri = null;
            o.ReadOnly = true;
        }))
        {
            Assert.Contains(readOnly.Keys.Status().Scopes, s => s.Name == "gamma" && s.RotationInProgress);
            // No re-wrap runs on a read-only store: before the fix this waited until the store closed.
            Task wait = readOnly.Keys.WaitForRotationsAsync();
            Assert.True(wait.IsCompletedSuccessfully, "WaitForRotationsAsync on a read-only store did not return at once");
            readOnly.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => readOnly.Keys.WaitForRotationsAsync());
        }

        using (store = Reopen(store))
        {
            await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
            KeyAssert.AllCurrent(store);
            _model.Check(store);
        }
    }

    [Fact]
    public void Data_key_rotation_rewrites_every_sst_and_reports_progress()
    {
        using EncryptedStore store = OpenWithData();
        var reports = new List<DataKeyRotationProgress>();
        var options = new DataKeyRotationOptions { BytesPerSecond = 50L << 20, Progress = new SyncProgress(reports.Add) };
        string[] before = [.. Directory.EnumerateFiles(Path.Combine(_dir.StorePath, "ns"), "*.sst", SearchOption.AllDirectories)];

        IReadOnlyList<DataKeyRotationProgress> result = store.Keys.RotateDataKeys(null, options);

        Assert.Equal(["alpha", "beta", "gamma"], result.Select(r => r.Namespace));
        Assert.All(result, r =>
        {
            Assert.True(r.Complete);
            Assert.Equal(1.0, r.Share);
            Assert.True(r.NewFiles > 0);
        });
        Assert.Contains(reports, r => r.Share < 1);
        Assert.All(before, f => Assert.False(File.Exists(f), $"{f} was not rewritten"));
        _model.Check(store);
    }

    [Fact]
    public void Status_reports_every_scope_and_its_shares_add_up()
    {
        using EncryptedStore store = OpenWithData();
        store.Keys.RotateNamespaceKey("alpha");
        store.Keys.RotationFilesPerSecond = 0.5;
        _model.Write(store, "alpha", 100);
        store.Flush();

        KeyStatusReport status = store.Keys.Status();

        Assert.Equal(["system", "alpha", "beta", "gamma"], status.Scopes.Select(s => s.Name));
        Assert.All(status.Scopes, KeyAssert.SharesAddUp);
        ScopeKeyStatus alpha = status.Scopes[1];
        Assert.Equal([1u, 2u], alpha.RegistryVersions);
        Assert.True(alpha.RotationInProgress);
        Assert.True(alpha.Versions.Single(v => v.Version == 2).Files >= 1);
    }

    private sealed class SyncProgress(Action<DataKeyRotationProgress> report) : IProgress<DataKeyRotationProgress>
    {
        public void Report(DataKeyRotationProgress value) => report(value);
    }
}
