using Engine.Crypto;
using Engine.Testing;
using Engine.Tests.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>Rotations while the store serves traffic, locks and unlocks, or lives in memory.</summary>
public sealed class OnlineRotationTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Writers, flushes and compactions run throughout (RocksDB creates and deletes files under the
    /// worker's feet) while every kind of rotation runs; afterwards every acknowledged write is there,
    /// every file is under the current version and the old versions are gone.
    /// </summary>
    [Fact]
    public async Task Every_rotation_runs_online_under_writes_flushes_and_compactions()
    {
        using EncryptedStore store = _dir.Open();
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        var model = new ExpectedStoreContents();
        foreach (string ns in new[] { "a", "b" })
        {
            model.Write(store, ns, 300);
            store.Flush();
        }

        using var stop = new CancellationTokenSource();
        var modelLock = new Lock();
        Task traffic = Task.Run(() =>
        {
            for (int round = 0; !stop.IsCancellationRequested; round++)
            {
                lock (modelLock)
                {
                    model.Write(store, round % 2 == 0 ? "a" : "b", 60);
                }

                if (round % 3 == 0)
                {
                    store.Flush();
                }

                if (round % 10 == 9)
                {
                    store.Compact();
                }
            }
        });

        store.Keys.RotationFilesPerSecond = 200;
        KekRotation a = store.Keys.RotateNamespaceKey("a");
        KekRotation system = store.Keys.RotateSystemKey();
        store.Keys.RotateRootKey();
        store.Keys.RotateCmek("file:" + _dir.CreateOtherKey("next.key"));
        KekRotation again = store.Keys.RotateNamespaceKey("a"); // a second rotation before the first finished
        IReadOnlyList<DataKeyRotationProgress> data = store.Keys.RotateDataKeys("b", new DataKeyRotationOptions { BytesPerSecond = 4 << 20 });
        await Task.WhenAll(a.Completion, system.Completion, again.Completion).WaitAsync(Patience);
        await stop.CancelAsync();
        await traffic.WaitAsync(Patience);

        Assert.Equal(3u, again.NewVersion);
        Assert.True(data.Single().NewFiles > 0);
        lock (modelLock)
        {
            model.Check(store);
        }

        await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
        KeyAssert.AllCurrent(store, bothSlots: false); // files written meanwhile have slot A only
        Assert.Equal([3u], store.Keys.Status().Scopes.Single(s => s.Name == "a").RegistryVersions);
        store.Verify();
    }

    [Fact]
    public async Task A_scrub_interrupted_after_the_rewrap_is_finished_before_the_old_version_retires()
    {
        // A CI run saw a WAL keep the retired version in its other slot: a lock fell between the
        // re-wrap and the scrub write, and the final inventory reads only the slot in force.
        using EncryptedStore store = _dir.Open();
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        store.Keys.Worker.RetryDelay = TimeSpan.FromMilliseconds(100);
        var model = new ExpectedStoreContents();
        model.Write(store, "a", 300);
        store.Flush();
        int interrupted = 0;
        store.Keys.Worker.BeforeScrub = _ =>
        {
            if (Interlocked.Increment(ref interrupted) <= 2)
            {
                throw new StoreLockedException("simulated lock between the re-wrap and the scrub", DateTimeOffset.UtcNow);
            }
        };

        KekRotation rotation = store.Keys.RotateSystemKey();
        await rotation.Completion.WaitAsync(Patience);

        Assert.True(interrupted >= 2);
        KeyAssert.AllCurrent(store); // both slots of every file
        model.Check(store);
    }

    [Fact]
    public async Task A_lock_pauses_the_rewrap_and_the_unlock_resumes_it()
    {
        using EncryptedStore store = _dir.Open();
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        var model = new ExpectedStoreContents();
        model.Write(store, "a", 300);
        store.Flush();
        store.Keys.RotationFilesPerSecond = 2;

        KekRotation rotation = store.Keys.RotateSystemKey();
        store.Lock("test lock during a rotation");
        Assert.False(rotation.Completion.IsCompleted);
        store.Unlock();
        store.Keys.RotationFilesPerSecond = 0;
        await rotation.Completion.WaitAsync(Patience);

        KeyAssert.AllCurrent(store);
        model.Check(store);
    }

    [Fact]
    public async Task Rotations_racing_with_locks_and_unlocks_neither_deadlock_nor_lose_data()
    {
        using EncryptedStore store = _dir.Open();
        var model = new ExpectedStoreContents();
        model.Write(store, "a", 200);
        store.Flush();
        for (int i = 0; i < 8; i++)
        {
            Task rotations = Task.Run(() =>
            {
                for (int r = 0; r < 3; r++)
                {
                    try
                    {
                        store.Keys.RotateRootKey();
                        store.Keys.RotateNamespaceKey("a");
                    }
                    catch (StoreLockedException)
                    {
                        // the lock won the race: fine
                    }
                }
            });
            await Task.Delay(i * 3);
            store.Lock("racing a rotation");
            store.Unlock();
            await rotations.WaitAsync(Patience);
        }

        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
        KeyAssert.AllCurrent(store);
        model.Check(store);
    }

    [Fact]
    public async Task An_in_memory_store_rotates_the_files_it_keeps_in_memory()
    {
        using InMemoryStore memory = InMemoryStore.Open();
        EncryptedStore store = memory.Store;
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        var model = new ExpectedStoreContents();
        model.Write(store, "a", 300);
        store.Flush();
        model.Write(store, "a", 100);
        Assert.True(store.Keys.Status().Scopes.Single(s => s.Name == "a").Files >= 1);

        await store.Keys.RotateNamespaceKey("a").Completion.WaitAsync(Patience);
        await store.Keys.RotateSystemKey().Completion.WaitAsync(Patience);

        KeyAssert.AllCurrent(store, bothSlots: false); // the files are not on disk
        model.Check(store);
        store.DeleteNamespace("a");
        Assert.Empty(store.ListNamespaces());
        memory.Reopen();
        Assert.Empty(memory.Store.ListNamespaces());
    }

    [Fact]
    public async Task The_issuance_barrier_waits_for_key_calls_that_started_before_it()
    {
        using var f = new RegistryFixture();
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var keys = new FileKeyService(f.Registry, path =>
        {
            inside.Set();
            release.Wait();
            return KeyScope.System;
        });
        Task issuing = Task.Run(() => keys.NewFileKey("/store/000001.log", new byte[40], new byte[32], new byte[FileKeyService.EnvelopeSize]));
        Assert.True(inside.Wait(Patience));

        Assert.False(keys.WaitForIssuedKeys(TimeSpan.FromMilliseconds(100)));
        release.Set();
        Assert.True(keys.WaitForIssuedKeys(Patience));
        await issuing.WaitAsync(Patience);
    }
}
