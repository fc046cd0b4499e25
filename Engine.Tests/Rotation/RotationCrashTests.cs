using System.Globalization;
using Engine.Crypto;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Rotation;

/// <summary>
/// kill -9 of the <c>engine keys ...</c> CLI at random points of each rotation, several cycles each;
/// then the store must open from its directory alone, with every value readable (model check),
/// every file authentic (Verify), and interrupted KEK rotations must finish and retire.
/// ENGINE_ROTATION_CRASH_CYCLES sets the cycles per verb (default 3), ENGINE_ROTATION_CRASH_SEED the seed.
/// </summary>
public sealed class RotationCrashTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly TestStoreDirectory _dir = new();
    private readonly ExpectedStoreContents _model = new();
    private readonly ITestOutputHelper _log;
    private readonly Random _random;
    private readonly int _cycles;

    public RotationCrashTests(ITestOutputHelper log)
    {
        _log = log;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ENGINE_ROTATION_CRASH_SEED"), CultureInfo.InvariantCulture, out int s) ? s : Environment.TickCount;
        _cycles = int.TryParse(Environment.GetEnvironmentVariable("ENGINE_ROTATION_CRASH_CYCLES"), CultureInfo.InvariantCulture, out int c) ? c : 3;
        _random = new Random(seed);
        _log.WriteLine($"seed {seed}, {_cycles} cycles");
        using EncryptedStore store = _dir.Open();
        foreach (string ns in new[] { "alpha", "beta", "gamma" })
        {
            for (int round = 0; round < 3; round++)
            {
                _model.Write(store, ns, 150);
                store.Flush();
            }

            _model.Write(store, ns, 40); // unflushed: in the WAL
        }
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Kill_during_cmek_rotation_recovers()
    {
        int window = Calibrate("rotating the CMEK", "keys", "rotate-cmek", "--store", _dir.StorePath, "--to", "file:" + _dir.CreateOtherKey("calibration.key"));
        for (int cycle = 0; cycle < _cycles; cycle++)
        {
            string before = KeyRegistry.ReadCmekUri(_dir.StorePath)!;
            string next = "file:" + _dir.CreateOtherKey($"cmek-{cycle}.key");
            KillDuring("rotating the CMEK", _random.Next(0, window), "keys", "rotate-cmek", "--store", _dir.StorePath, "--to", next);
            string after = KeyRegistry.ReadCmekUri(_dir.StorePath)!;
            Assert.True(after == before || after == next, $"recorded CMEK {after}");
            _log.WriteLine($"cycle {cycle}: store wrapped by {(after == next ? "the new" : "the old")} CMEK");
            using EncryptedStore store = Reopen();
            Check(store);
        }
    }

    [Fact]
    public void Kill_during_root_rotation_recovers()
    {
        int window = Calibrate("rotating the root KEK", "keys", "rotate-root", "--store", _dir.StorePath);
        for (int cycle = 0; cycle < _cycles; cycle++)
        {
            KillDuring("rotating the root KEK", _random.Next(0, window), "keys", "rotate-root", "--store", _dir.StorePath);
            using EncryptedStore store = Reopen();
            Check(store);
        }
    }

    [Fact]
    public async Task Kill_during_namespace_and_system_key_rotation_recovers_and_the_rotation_finishes()
    {
        for (int cycle = 0; cycle < _cycles; cycle++)
        {
            string[] scope = cycle % 2 == 0 ? ["--ns", "gamma"] : ["--system"];
            KillDuring("rotating the KEK", _random.Next(0, 1500), ["keys", "rotate-ns", "--store", _dir.StorePath, .. scope, "--wait", "--files-per-second", "10"]);
            using EncryptedStore store = Reopen();
            bool inProgress = store.Keys.Status().Scopes.Any(s => s.RotationInProgress);
            _log.WriteLine($"cycle {cycle}: rotation of {string.Join(' ', scope)} {(inProgress ? "in progress" : "finished or not started")} after the kill");
            Check(store);
            await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
            KeyAssert.AllCurrent(store);
            Check(store);
        }
    }

    [Fact]
    public void Kill_during_data_key_rotation_recovers()
    {
        for (int cycle = 0; cycle < _cycles; cycle++)
        {
            KillDuring("rotating the DEKs", _random.Next(0, 1500), "keys", "rotate-data", "--store", _dir.StorePath, "--bytes-per-second", "40000");
            using EncryptedStore store = Reopen();
            Check(store);
            Assert.All(store.Keys.RotateDataKeys(), p => Assert.True(p.Complete));
            Check(store);
        }
    }

    [Fact]
    public void Kill_during_namespace_deletion_leaves_it_whole_or_gone()
    {
        string[] victims = ["beta", "gamma", "alpha"];
        for (int cycle = 0; cycle < Math.Min(_cycles, victims.Length); cycle++)
        {
            string victim = victims[cycle];
            KillDuring("deleting namespace", _random.Next(0, 150), "keys", "delete-ns", "--store", _dir.StorePath, "--ns", victim);
            using EncryptedStore store = Reopen();
            bool gone = !store.ListNamespaces().Contains(victim);
            _log.WriteLine($"cycle {cycle}: '{victim}' {(gone ? "deleted" : "intact")} after the kill");
            if (gone)
            {
                _model.Drop(victim);
                Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.StorePath, "ns"), "*.shred"));
            }

            Check(store);
        }
    }

    private EncryptedStore Reopen()
    {
        EncryptedStore store = _dir.Open(o => o.CmekUri = null);
        store.Keys.RotationFilesPerSecond = 0;
        store.Keys.Worker.SettleDelay = TimeSpan.FromMilliseconds(50);
        return store;
    }

    private void Check(EncryptedStore store)
    {
        Assert.Null(store.Keys.RotationProblem);
        _model.Check(store);
        store.Verify();
        Assert.All(store.Keys.Status().Scopes, s =>
        {
            Assert.Equal(0, s.UnreadableFiles);
            Assert.All(s.Versions.Where(v => v.Files > 0), v => Assert.True(v.InRegistry, $"{s.Name}: files under version {v.Version}, which the registry does not hold"));
        });
    }

    /// <summary>
    /// Runs the verb once to the end and returns how long it took after its announcement line, plus a
    /// fifth (at least 5 ms), so that random kill points spread over the whole operation and a bit beyond.
    /// </summary>
    private int Calibrate(string announcement, params string[] args)
    {
        using ChildProcess child = CliChild.Start(args);
        CliChild.WaitForLine(child, announcement, Patience);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, CliChild.WaitForExit(child, Patience));
        int window = Math.Max(5, (int)(clock.ElapsedMilliseconds * 1.2));
        _log.WriteLine($"{string.Join(' ', args.Take(2))} takes {clock.ElapsedMilliseconds} ms after its announcement; kill window {window} ms");
        return window;
    }

    /// <summary>Runs the CLI, waits for its announcement line, lets <paramref name="delayMs"/> pass, kills it with SIGKILL.</summary>
    private void KillDuring(string announcement, int delayMs, params string[] args)
    {
        using ChildProcess child = CliChild.Start(args);
        CliChild.WaitForLine(child, announcement, Patience);
        Thread.Sleep(delayMs);
        bool killed = child.Kill();
        _log.WriteLine($"{string.Join(' ', args.Take(2))}: {(killed ? $"killed {delayMs} ms after it started" : "had finished before the kill")}");
    }
}
