using Engine.Crypto;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>
/// The system under test of one model run: a store (in memory or in a directory) behind a
/// <see cref="TestCmek"/> the commands revoke and restore. Background CMEK checks are off (hour-long
/// interval); commands run checks explicitly, so a run replays from its seed. The one exception is the
/// sooner retry of a degraded store, which the model accepts as <see cref="DegradedRetry"/> describes.
/// </summary>
internal sealed class StoreHarness : IDisposable
{
    private static readonly TimeSpan s_noBackgroundChecks = TimeSpan.FromHours(1);

    private readonly InMemoryStore? _memory;
    private readonly string? _root;
    private readonly List<TestCmek> _oldCmeks = [];
    private int _cmekGeneration = 1;
    private EncryptedStore? _diskStore;
    private bool _disposed;

    public StoreHarness(StoreSetup setup)
    {
        Setup = setup;
        Model = StoreModel.Initial(setup);
        if (setup.Backend == StoreBackend.InMemory)
        {
            Cmek = new TestCmek("model");
            _memory = InMemoryStore.Open(Cmek, Configure);
        }
        else
        {
            _root = Directory.CreateTempSubdirectory("ekv-model-").FullName;
            KeyPath = Path.Combine(_root, "cmek.key");
            // A real key file behind the switch: a crash child opens the store from its recorded URI.
            Cmek = new TestCmek(LocalKeyFileCmek.Create(KeyPath));
            StorePath = Path.Combine(_root, "store");
            _diskStore = EncryptedStore.Open(Options());
        }
    }

    public StoreSetup Setup { get; }

    /// <summary>
    /// The model as the store has shown it so far: the commands' model plus the background retries of a
    /// degraded store that <see cref="StoreOp"/> observed (see <see cref="DegradedRetry"/>).
    /// </summary>
    public StoreModel Model { get; set; } = null!;

    /// <summary>Every CMEK condition since the store's state was last looked at (what a retry may have met).</summary>
    public HashSet<TestCmekAvailability> CmekSinceLastLook { get; } = [];

    /// <summary>How many background retries of a degraded store changed its state behind the commands' back.</summary>
    public int BackgroundTransitions { get; set; }

    /// <summary>The store's CMEK (changes with <see cref="Adopt"/> after a CMEK rotation).</summary>
    public TestCmek Cmek { get; private set; }

    /// <summary>Directory of a <see cref="StoreBackend.Directory"/> store; null in memory.</summary>
    public string? StorePath { get; }

    /// <summary>Key file behind <see cref="Cmek"/> for a directory store.</summary>
    public string? KeyPath { get; private set; }

    /// <summary>A new CMEK to rotate to: in memory a fresh <see cref="TestCmek"/>, on disk a new key file behind one.</summary>
    public (TestCmek Cmek, string? KeyPath) NewCmek()
    {
        int generation = ++_cmekGeneration;
        if (_root is null)
        {
            return (new TestCmek("model-" + generation.ToString(System.Globalization.CultureInfo.InvariantCulture)), null);
        }
        string path = Path.Combine(_root, "cmek-" + generation.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".key");
        return (new TestCmek(LocalKeyFileCmek.Create(path)), path);
    }

    /// <summary>The store rotated to <paramref name="cmek"/>: later opens, checks and crash children use it.</summary>
    public void Adopt(TestCmek cmek, string? keyPath)
    {
        _oldCmeks.Add(Cmek);
        Cmek = cmek;
        KeyPath = keyPath ?? KeyPath;
        _memory?.UseCmek(cmek);
    }

    /// <summary>Snapshots taken by <see cref="CreateSnapshotOp"/>, by the model's id; disposed with the harness.</summary>
    public Dictionary<int, StoreSnapshot> Snapshots { get; } = [];

    public bool IsOpen => _memory?.IsOpen ?? _diskStore is not null;

    /// <summary>The open store.</summary>
    public EncryptedStore Store => _memory?.Store ?? _diskStore ?? throw new InvalidOperationException("the store is closed");

    /// <summary>Closes the store (cleanly).</summary>
    public void Close()
    {
        if (_memory is not null)
        {
            _memory.Close();
        }
        else
        {
            _diskStore?.Dispose();
            _diskStore = null;
        }
    }

    /// <summary>Opens the store; throws <see cref="KeyUnavailableException"/> (and stays closed) when the CMEK is unavailable.</summary>
    public void Open()
    {
        if (_memory is not null)
        {
            _memory.Reopen();
        }
        else
        {
            _diskStore?.Dispose();
            _diskStore = null;
            _diskStore = EncryptedStore.Open(Options());
        }
    }

    public StoreOptions Options()
    {
        var options = new StoreOptions { Path = StorePath ?? string.Empty, Cmek = Cmek };
        Configure(options);
        return options;
    }

    private void Configure(StoreOptions options)
    {
        options.CmekCheckInterval = s_noBackgroundChecks;
        options.KeyCacheTtl = s_noBackgroundChecks;
        options.FrameSize = Setup.FrameSize;
        options.AutoUnlock = Setup.AutoUnlock;
        options.BlockCacheBytes = 1 << 20; // small: most reads go through the plugin's decryption
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (StoreSnapshot snapshot in Snapshots.Values)
        {
            snapshot.Dispose();
        }
        _memory?.Dispose();
        _diskStore?.Dispose();
        Cmek.Dispose();
        foreach (TestCmek old in _oldCmeks)
        {
            old.Dispose();
        }
        if (_root is not null)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }
}
