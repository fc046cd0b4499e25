using Engine.Crypto;
using Engine.Interop;
using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>DeleteNamespace destroys the namespace's key: copies of its files become undecryptable.</summary>
public sealed class CryptoShredTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();
    private readonly ExpectedStoreContents _model = new();

    public void Dispose() => _dir.Dispose();

    private EncryptedStore OpenWithData()
    {
        EncryptedStore store = _dir.Open();
        foreach (string ns in new[] { "alpha", "beta", "gamma" })
        {
            _model.Write(store, ns, 300);
        }

        store.Flush();
        foreach (string ns in new[] { "alpha", "beta", "gamma" })
        {
            _model.Write(store, ns, 50); // also in the WAL
        }

        return store;
    }

    [Fact]
    public void Files_of_a_deleted_namespace_copied_back_cannot_be_read_and_the_rest_is_intact()
    {
        using EncryptedStore store = OpenWithData();
        uint beta = store.GetNamespace("beta").Info.Id;
        uint alpha = store.GetNamespace("alpha").Info.Id;
        string betaDir = store.Layout.NamespaceDirectory(beta);
        string aside = Path.Combine(_dir.Root, "aside");
        Directory.CreateDirectory(aside);
        string[] copied = [.. Directory.EnumerateFiles(betaDir, "*.sst").Select(f => CopyInto(f, aside))];
        Assert.NotEmpty(copied);

        store.DeleteNamespace("beta");
        _model.Drop("beta");

        Assert.False(Directory.Exists(betaDir));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.StorePath, "ns"), "*.shred"));
        Assert.DoesNotContain("beta", store.ListNamespaces());
        Assert.Equal(File.ReadAllBytes(RegistryFile(KeyRegistry.FileName)), File.ReadAllBytes(RegistryFile(KeyRegistry.PreviousFileName)));

        // Restored where they were: the key is gone (unknown namespace).
        Directory.CreateDirectory(betaDir);
        string[] restored = [.. copied.Select(f => CopyInto(f, betaDir))];
        Assert.All(restored, f => Assert.Throws<KeyUnavailableException>(() => ReadThrough(store, f)));
        // Spliced into a live namespace: its envelope names another scope.
        string spliced = Path.Combine(store.Layout.NamespaceDirectory(alpha), "999999.sst");
        File.Copy(copied[0], spliced);
        Assert.Throws<IntegrityException>(() => ReadThrough(store, spliced));

        File.Delete(spliced);
        Directory.Delete(betaDir, recursive: true);
        store.Verify();
        _model.Check(store);
        Assert.Empty(store.GetNamespace("beta").Scan((string?)null, null)); // a new, empty namespace
        Assert.NotEqual(beta, store.GetNamespace("beta").Info.Id);
    }

    [Fact]
    public void Wal_files_holding_the_deleted_namespace_s_last_writes_become_obsolete()
    {
        using EncryptedStore store = OpenWithData(); // the last writes of every namespace are only in the WAL
        string[] walsBefore = [.. Directory.EnumerateFiles(_dir.StorePath, "*.log")];
        Assert.NotEmpty(walsBefore);

        store.DeleteNamespace("beta");

        Eventually.Holds(() => !walsBefore.Any(File.Exists), TimeSpan.FromSeconds(10));
        Assert.All(walsBefore, f => Assert.False(File.Exists(f), $"{f} outlived the deletion"));
        _model.Drop("beta");
        _model.Check(store);
    }

    [Fact]
    public void Using_a_deleted_namespace_handle_fails_clearly()
    {
        using EncryptedStore store = OpenWithData();
        StoreNamespace beta = store.GetNamespace("beta");

        store.DeleteNamespace("beta");

        Assert.Throws<ObjectDisposedException>(() => beta.Put("k", "v"));
        Assert.Throws<ObjectDisposedException>(() => beta.Get("k"));
        Assert.Throws<ArgumentException>(() => store.DeleteNamespace("beta"));
    }

    /// <summary>
    /// The limit of crypto-shred with a CMEK that is never rotated, and its remedy: a copy of the whole
    /// directory from before the deletion holds the namespace's KEK in its KEYRING, sealed under a root
    /// key that the same CMEK unwraps. Rotating the CMEK and destroying the old key seals that copy.
    /// </summary>
    [Fact]
    public void A_whole_store_copy_from_before_the_deletion_is_sealed_by_rotating_the_cmek_and_destroying_the_old_key()
    {
        OpenWithData().Dispose();
        string copy = Path.Combine(_dir.Root, "copy");
        CopyDirectory(_dir.StorePath, copy);

        using (EncryptedStore store = _dir.Open(o => o.CmekUri = null))
        {
            store.DeleteNamespace("beta");
        }

        _model.Drop("beta");
        using (EncryptedStore old = EncryptedStore.Open(new StoreOptions { Path = copy, CreateIfMissing = false }))
        {
            Assert.Contains("beta", old.ListNamespaces()); // still readable with the old CMEK
        }

        string newKey = _dir.CreateOtherKey("new.key");
        using (EncryptedStore store = _dir.Open(o => o.CmekUri = null))
        {
            store.Keys.RotateCmek("file:" + newKey);
        }

        File.WriteAllBytes(_dir.KeyPath, new byte[32]); // the operator destroys the old key
        File.Delete(_dir.KeyPath);

        Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = copy, CreateIfMissing = false }).Dispose());
        using (EncryptedStore store = _dir.Open(o => o.CmekUri = null))
        {
            _model.Check(store);
            Assert.DoesNotContain("beta", store.ListNamespaces());
        }
    }

    [Theory]
    [InlineData(nameof(RegistryFaultPoint.TempWritten))]
    [InlineData(nameof(RegistryFaultPoint.TempMovedToCurrent))]
    [InlineData(nameof(RegistryFaultPoint.ShredTempWritten))]
    public void A_deletion_interrupted_by_a_crash_is_finished_at_the_next_open(string pointName)
    {
        RegistryFaultPoint point = Enum.Parse<RegistryFaultPoint>(pointName);
        uint beta;
        using (EncryptedStore store = OpenWithData())
        {
            beta = store.GetNamespace("beta").Info.Id;
            // The crash lands in the registry writes of the deletion itself, once the registry lists
            // it as pending (the pending entry is the deletion's first durable step).
            store.Run(s => s.Registry.FaultInjector = p =>
            {
                if (p == point && s.Registry.PendingShreds.Contains(beta))
                {
                    throw new IOException($"simulated crash at {p}");
                }
            });
            Assert.Throws<IOException>(() => store.DeleteNamespace("beta"));
            store.Run(s => s.Registry.FaultInjector = null);
        }

        _model.Drop("beta");
        using (EncryptedStore store = _dir.Open(o => o.CmekUri = null))
        {
            Assert.Null(store.Keys.RotationProblem);
            Assert.DoesNotContain("beta", store.ListNamespaces());
            Assert.False(Directory.Exists(store.Layout.NamespaceDirectory(beta)));
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.StorePath, "ns"), "*.shred"));
            Assert.False(store.Run(s => s.Registry.TryGetNamespace(beta, out _)));
            Assert.Equal(File.ReadAllBytes(RegistryFile(KeyRegistry.FileName)), File.ReadAllBytes(RegistryFile(KeyRegistry.PreviousFileName)));
            _model.Check(store);
            store.Verify();
        }
    }

    [Fact]
    public void Destroying_the_store_forgets_the_root_key()
    {
        OpenWithData().Dispose();
        EncryptedStore.Destroy(_dir.StorePath, keepDataFiles: true);

        Assert.False(EncryptedStore.Exists(_dir.StorePath));
        Assert.NotEmpty(Directory.EnumerateFiles(_dir.StorePath, "*.sst", SearchOption.AllDirectories));
        Assert.Throws<EngineException>(() => _dir.Open(o => o.CreateIfMissing = false).Dispose());
        Assert.Throws<EngineException>(() => EncryptedStore.Destroy(_dir.StorePath));
    }

    private string RegistryFile(string name) => Path.Combine(_dir.StorePath, name);

    private static string CopyInto(string file, string dir)
    {
        string target = Path.Combine(dir, Path.GetFileName(file));
        File.Copy(file, target, overwrite: true);
        return target;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Authenticates every frame of <paramref name="file"/> through the store's plugin.</summary>
    private static unsafe void ReadThrough(EncryptedStore store, string file)
    {
        store.Run(s =>
        {
            byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
            msg[0] = 0;
            var status = (NativeStatus)NativeMethods.FileVerify(s.Env, file, out _, msg, NativeMethods.MessageCapacity);
            if (status != NativeStatus.Ok)
            {
                throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), file);
            }
        });
    }
}
