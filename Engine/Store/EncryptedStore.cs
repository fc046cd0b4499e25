using Engine.Crypto;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// An embedded key-value store whose every file is encrypted under keys the customer controls.
/// Open it with <see cref="Open"/>, get namespaces with <see cref="GetNamespace"/>, and dispose it
/// to close. All members are thread-safe.
/// </summary>
/// <remarks>
/// Data is organised in namespaces (RocksDB column families, each with its own directory and its own
/// key-encryption key). Every file RocksDB writes is sealed in AES-256-GCM frames by the native
/// plugin under a per-file data key; reading tampered bytes fails with <see cref="IntegrityException"/>,
/// never with wrong data.
/// </remarks>
public sealed partial class EncryptedStore : IDisposable
{
    private readonly StoreOptions _options;
    private readonly StoreLayout _layout;
    private readonly ICmekProvider _cmek;
    private readonly bool _ownsCmek;
    private readonly KeyRegistry _registry;
    private readonly FileKeyService _fileKeys;
    private readonly EncryptedEnvHandle _env;
    private readonly OperationGate _gate = new();
    private readonly Lock _namespaceSync = new();
    private readonly Dictionary<string, StoreNamespace> _namespaces = new(StringComparer.Ordinal);
    private readonly HashSet<ScanCursor> _cursors = [];
    private readonly Cache _blockCache;
    private readonly BlockBasedTableOptions _tableOptions;
    private readonly DbOptions _dbOptions;
    private readonly WriteOptions _asyncWrite = new WriteOptions().SetSync(false);
    private readonly WriteOptions _syncWrite = new WriteOptions().SetSync(true);
    private readonly ReadOptions _read = new();
    private RocksDb? _db;
    private bool _disposed;

    private EncryptedStore(StoreOptions options, StoreLayout layout, ICmekProvider cmek, bool ownsCmek, KeyRegistry registry)
    {
        _options = options;
        _layout = layout;
        _cmek = cmek;
        _ownsCmek = ownsCmek;
        _registry = registry;
        _fileKeys = new FileKeyService(registry, layout.ScopeOf);
        _env = EncryptedEnvHandle.Create(_fileKeys, (uint)options.FrameSize, options.InMemory);
        _blockCache = Cache.CreateLru((ulong)Math.Max(options.BlockCacheBytes, 1L << 20));
        _tableOptions = new BlockBasedTableOptions().SetBlockCache(_blockCache);
        _dbOptions = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCreateMissingColumnFamilies(true)
            .SetKeepLogFileNum(10) // every open rotates the info LOG; keep a bounded history
            .SetEnv(_env.RocksDbEnv);
    }

    /// <summary>The store directory (absolute).</summary>
    public string Path => _layout.Root;

    /// <summary>The URI of the CMEK protecting this store's root key.</summary>
    public string CmekUri => _registry.CmekUri;

    /// <summary>True when <paramref name="path"/> is the directory of an encrypted store (it has a key registry).</summary>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = System.IO.Path.GetFullPath(path);
        return Directory.Exists(root) && KeyRegistry.Exists(root);
    }

    /// <summary>
    /// Opens (or creates) the store at <see cref="StoreOptions.Path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK is missing, unreadable, or does not unwrap this store's root key; no file is touched.</exception>
    /// <exception cref="IntegrityException">The key registry or a database file failed authentication.</exception>
    /// <exception cref="EngineException">The path is not a store, or RocksDB failed to open.</exception>
    public static EncryptedStore Open(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        NativeLibraryCheck.EnsureLoaded();
        var layout = new StoreLayout(options.Path);

        bool exists = KeyRegistry.Exists(layout.Root);
        if (!exists)
        {
            EnsureCreatable(layout.Root, options);
        }

        string? uri = options.CmekUri ?? (exists ? KeyRegistry.ReadCmekUri(layout.Root) : null);
        ICmekProvider cmek;
        bool ownsCmek = options.Cmek is null;
        if (options.Cmek is not null)
        {
            cmek = options.Cmek;
        }
        else if (uri is not null)
        {
            cmek = CmekProviders.Open(uri);
        }
        else
        {
            throw new ArgumentException($"Creating the store at {layout.Root} needs a CMEK: set StoreOptions.Cmek or StoreOptions.CmekUri.", nameof(options));
        }

        KeyRegistry? registry = null;
        EncryptedStore? store = null;
        try
        {
            if (!exists)
            {
                Directory.CreateDirectory(layout.Root);
            }
            registry = exists ? KeyRegistry.Open(layout.Root, cmek) : KeyRegistry.Create(layout.Root, cmek);
            store = new EncryptedStore(options, layout, cmek, ownsCmek, registry);
            store.OpenDatabase();
            return store;
        }
        catch
        {
            if (store is not null)
            {
                store.Dispose();
            }
            else
            {
                registry?.Dispose();
                if (ownsCmek)
                {
                    cmek.Dispose();
                }
            }
            throw;
        }
    }

    private static void EnsureCreatable(string root, StoreOptions options)
    {
        if (!options.CreateIfMissing)
        {
            throw new EngineException($"{root} is not an encrypted store (no {KeyRegistry.FileName} file) and CreateIfMissing is off.");
        }
        if (File.Exists(root))
        {
            throw new EngineException($"{root} is a file, not a store directory.");
        }
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new EngineException($"{root} is not an encrypted store (no {KeyRegistry.FileName} file) and is not empty; refusing to create a store over existing files.");
        }
    }

    /// <summary>Counters of the native plugin (files, frames, DEKs held), for diagnostics and tests.</summary>
    internal NativeStats PluginStats => _env.Stats;

    internal FileKeyService FileKeys => _fileKeys;

    internal RocksDb Database => _db ?? throw new ObjectDisposedException(nameof(EncryptedStore));

    /// <summary>Runs <paramref name="action"/> inside the gate, translating RocksDB errors.</summary>
    internal T Run<T>(Func<RocksDb, T> action)
    {
        _gate.Enter();
        try
        {
            return action(Database);
        }
        catch (RocksDbException ex)
        {
            throw NativeErrors.Translate(ex);
        }
        finally
        {
            _gate.Exit();
        }
    }

    internal void Run(Action<RocksDb> action) => Run(db =>
    {
        action(db);
        return true;
    });

    internal WriteOptions WriteOptionsFor(bool? sync) => (sync ?? _options.SyncWrites) ? _syncWrite : _asyncWrite;

    internal ReadOptions DefaultReadOptions => _read;

    internal StoreOptions Options => _options;

    /// <summary>Closes the database, zeroes every key held in memory and releases native resources.</summary>
    public void Dispose()
    {
        lock (_namespaceSync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _gate.CloseAndDrain(() => new ObjectDisposedException(nameof(EncryptedStore), $"The store at {Path} is closed."));
        CloseDatabase();
        _env.Dispose();
        _fileKeys.Dispose();
        _registry.Dispose();
        if (_ownsCmek)
        {
            _cmek.Dispose();
        }
        _gate.Dispose();
    }
}
