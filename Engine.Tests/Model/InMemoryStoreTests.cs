using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Model;

/// <summary>The in-memory store of Engine.Testing behaves like a store on disk: reopen, lock and unlock keep the data.</summary>
public sealed class InMemoryStoreTests
{
    private static readonly TimeSpan s_noBackgroundChecks = TimeSpan.FromHours(1);

    private static void NoBackgroundChecks(StoreOptions o)
    {
        o.CmekCheckInterval = s_noBackgroundChecks;
        o.KeyCacheTtl = s_noBackgroundChecks;
    }

    [Fact]
    public void Data_survives_reopen_and_goes_through_the_encryption_plugin()
    {
        using var memory = InMemoryStore.Open(configure: NoBackgroundChecks);
        StoreNamespace ns = memory.Store.GetNamespace("tenant-é");
        ns.Put("k", "v");
        memory.Store.GetNamespace("other").Put([], []);
        memory.Store.Flush();
        ns.Put("after-flush", "in the WAL only");
        Assert.True(memory.Store.PluginStats.FramesSealed > 0, "nothing went through the plugin");

        EncryptedStore reopened = memory.Reopen();

        Assert.Equal(["other", "tenant-é"], reopened.ListNamespaces());
        Assert.Equal("v", reopened.GetNamespace("tenant-é").Get("k"));
        Assert.Equal("in the WAL only", reopened.GetNamespace("tenant-é").Get("after-flush"));
        byte[]? empty = reopened.GetNamespace("other").Get([]);
        Assert.NotNull(empty);
        Assert.Empty(empty);
        Assert.True(reopened.PluginStats.FramesOpened > 0, "reopen read nothing through the plugin");
    }

    [Fact]
    public void Nothing_but_the_encrypted_registry_reaches_the_registry_directory()
    {
        using var memory = InMemoryStore.Open(configure: NoBackgroundChecks);
        StoreNamespace ns = memory.Store.GetNamespace("n");
        ns.Put("canary-key-4f1e"u8, "canary-value-9b2d"u8);
        memory.Store.Flush();
        memory.Store.Compact();

        string[] files = Directory.GetFiles(memory.RegistryDirectory, "*", SearchOption.AllDirectories);
        Assert.All(files, f => Assert.StartsWith("KEYRING", Path.GetFileName(f), StringComparison.Ordinal));
        // Verify checks the in-memory files, none of which is in the directory.
        Assert.All(memory.Store.Verify().Files, f => Assert.DoesNotContain(f.Path, files));
        string dir = memory.RegistryDirectory;
        memory.Dispose();
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Verify_authenticates_the_in_memory_files()
    {
        using var memory = InMemoryStore.Open(configure: NoBackgroundChecks);
        StoreNamespace ns = memory.Store.GetNamespace("n");
        for (int i = 0; i < 100; i++)
        {
            ns.Put($"k{i:D3}", new string('v', 100));
        }
        memory.Store.Flush();
        ns.Put("in-the-wal", "only");
        ulong openedBefore = memory.Store.PluginStats.FramesOpened;

        VerifyReport report = memory.Store.Verify();

        string root = memory.Store.Path;
        Assert.Contains(report.Files, f => f.Path.StartsWith(root + "/ns/", StringComparison.Ordinal) && f.Path.EndsWith(".sst", StringComparison.Ordinal));
        Assert.Contains(report.Files, f => f.Path.EndsWith(".log", StringComparison.Ordinal) && f.LogicalBytes > 0);
        Assert.Contains(report.Files, f => Path.GetFileName(f.Path).StartsWith("MANIFEST-", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Files, f => Path.GetFileName(f.Path) is "LOCK" || Path.GetFileName(f.Path).StartsWith("KEYRING", StringComparison.Ordinal));
        Assert.True(memory.Store.PluginStats.FramesOpened > openedBefore, "Verify read no frame through the plugin");
    }

    [Fact]
    public void Revoked_cmek_locks_at_the_next_check_and_restore_brings_every_write_back()
    {
        using var cmek = new TestCmek();
        using var memory = InMemoryStore.Open(cmek, NoBackgroundChecks);
        EncryptedStore store = memory.Store;
        StoreNamespace ns = store.GetNamespace("n");
        ns.Put("a", "1");

        cmek.Revoke();
        Assert.Equal("1", ns.Get("a")); // serves until the next check notices
        Assert.Equal(StoreState.Locked, store.RunCmekCheck());
        var locked = Assert.Throws<StoreLockedException>(() => ns.Get("a"));
        Assert.Contains("DisabledException", locked.Reason, StringComparison.Ordinal);
        Assert.Throws<KeyUnavailableException>(store.Unlock);

        cmek.Restore();
        Assert.Equal(StoreState.Open, store.RunCmekCheck());
        Assert.Equal("1", ns.Get("a"));
        Assert.True(cmek.UnwrapCount >= 2, "the unlock did not unwrap the root key again");
    }

    [Fact]
    public void Transient_failures_degrade_and_the_store_keeps_serving()
    {
        using var cmek = new TestCmek();
        using var memory = InMemoryStore.Open(cmek, NoBackgroundChecks);
        StoreNamespace ns = memory.Store.GetNamespace("n");
        cmek.MakeTransient();
        Assert.Equal(StoreState.Degraded, memory.Store.RunCmekCheck());
        ns.Put("still", "serving");
        Assert.Equal("serving", ns.Get("still"));
        cmek.Restore();
        Assert.Equal(StoreState.Open, memory.Store.RunCmekCheck());
        Assert.Equal(1, cmek.FailureCount);
        Assert.Equal(2, cmek.CheckCount);
    }

    [Fact]
    public void Latency_beyond_the_check_timeout_counts_as_a_transient_failure()
    {
        using var cmek = new TestCmek();
        using var memory = InMemoryStore.Open(cmek, o =>
        {
            NoBackgroundChecks(o);
            o.CmekCheckTimeout = TimeSpan.FromMilliseconds(50);
        });
        cmek.AddLatency(TimeSpan.FromMilliseconds(500));
        Assert.Equal(TimeSpan.FromMilliseconds(500), cmek.Latency);
        Assert.Equal(StoreState.Degraded, memory.Store.RunCmekCheck());
        cmek.ClearLatency();
        // Without latency a check answers well within the 50 ms timeout, but on a loaded machine one can
        // still miss it (and degrade again, correctly): the store must get back to Open, check after check.
        StoreState state = StoreState.Degraded;
        Assert.True(Eventually.Holds(() => (state = memory.Store.RunCmekCheck()) == StoreState.Open, TimeSpan.FromSeconds(30)),
            $"the store stayed {state} after the latency was gone");
    }

    [Fact]
    public void Reopen_fails_while_the_cmek_is_revoked_and_works_after_restore()
    {
        using var cmek = new TestCmek();
        using var memory = InMemoryStore.Open(cmek, NoBackgroundChecks);
        memory.Store.GetNamespace("n").Put("k", "v");
        cmek.Revoke("AccessDeniedException");

        var refused = Assert.Throws<KeyUnavailableException>(() => memory.Reopen());
        Assert.Equal(CmekFailureKind.Revoked, refused.FailureKind);
        Assert.Equal("AccessDeniedException", refused.CmekErrorCode);
        Assert.False(memory.IsOpen);
        Assert.Throws<InvalidOperationException>(() => memory.Store);

        cmek.Restore();
        Assert.Equal("v", memory.Reopen().GetNamespace("n").Get("k"));
    }

    [Fact]
    public void Another_test_cmek_does_not_open_the_store()
    {
        using var cmek = new TestCmek("first");
        using var other = new TestCmek("second");
        using var memory = InMemoryStore.Open(cmek, NoBackgroundChecks);
        memory.Close();
        var options = new StoreOptions { Path = memory.RegistryDirectory, Cmek = other, CreateIfMissing = false };
        var refused = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(options));
        Assert.Contains("test-cmek:second", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_cmek_counts_calls()
    {
        using var cmek = new TestCmek();
        using (var memory = InMemoryStore.Open(cmek, NoBackgroundChecks))
        {
            Assert.Equal(1, cmek.WrapCount);
            Assert.Equal(0, cmek.UnwrapCount);
            memory.Reopen();
            Assert.Equal(1, cmek.UnwrapCount);
            memory.Store.RunCmekCheck();
            Assert.Equal(1, cmek.CheckCount);
        }
        cmek.ResetCounters();
        Assert.Equal(0, cmek.WrapCount + cmek.UnwrapCount + cmek.CheckCount + cmek.FailureCount);
    }
}
