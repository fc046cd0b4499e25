using Engine.Crypto;
using Engine.Interop;
using Engine.Locking;
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
public sealed partial class EncryptedStore : IDisposable, IAsyncDisposable
{
    private readonly StoreOptions _options; // a copy taken at open: changing the caller's object changes nothing
    private readonly StoreLayout _layout;
    private readonly OperationGate _gate = new();
    private readonly Lock _namespaceSync = new();
    private readonly Dictionary<string, StoreNamespace> _namespaces = new(StringComparer.Ordinal);
    private readonly HashSet<ISessionResource> _cursors = []; // iterators and snapshots of the live session
    private readonly WriteOptions _asyncWrite = new WriteOptions().SetSync(false);
    private readonly WriteOptions _syncWrite = new WriteOptions().SetSync(true);
    private readonly ReadOptions _read = new();
    private readonly StoreKeys _keys;
    private StoreSession? _session;

    private EncryptedStore(StoreOptions options, StoreLayout layout, ICmekProvider cmek, bool ownsCmek, StoreSession session)
    {
        _options = options;
        _layout = layout;
        _session = session;
        foreach (NamespaceInfo ns in session.Registry.Namespaces)
        {
            _namespaces[ns.Name] = new StoreNamespace(this, ns);
        }
        _monitor = new CmekMonitor(this, this, layout.Root, options, cmek, ownsCmek, session.Registry.CmekUri);
        _keys = new StoreKeys(this);
        _monitor.Start();
        _keys.Start();
    }

    /// <summary>The store directory (absolute).</summary>
    public string Path => _layout.Root;

    /// <summary>The URI of the CMEK protecting this store's root key.</summary>
    public string CmekUri => _monitor.CmekUri;

    /// <summary>
    /// The key lifecycle of this store: CMEK, root, namespace and system key rotation, DEK rotation by
    /// compaction, key status (docs/key-rotation.md). Valid while the store is open; its members throw
    /// <see cref="StoreLockedException"/> while the store is locked.
    /// </summary>
    public StoreKeys Keys => _keys;

    internal StoreLayout Layout => _layout;

    /// <summary>True when <paramref name="path"/> is the directory of an encrypted store (it has a key registry).</summary>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = System.IO.Path.GetFullPath(path);
        return Directory.Exists(root) && KeyRegistry.Exists(root);
    }

    /// <summary>
    /// Opens (or creates) the store at <see cref="StoreOptions.Path"/>. The store keeps a copy of
    /// <paramref name="options"/>: changing the object afterwards changes nothing, and an unlock
    /// reopens with the options given here.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK is missing, unreadable, or does not unwrap this store's root key; no file is touched.</exception>
    /// <exception cref="IntegrityException">The key registry or a database file failed authentication.</exception>
    /// <exception cref="EngineException">The path is not a store, or RocksDB failed to open.</exception>
    public static EncryptedStore Open(StoreOptions options)
    {
        OpenPlan plan = PlanOpen(options);
        // The one sync-over-async wait of the open: StoreSession.Open unwraps through BlockingBridge.
        return CompleteOpen(plan, () =>
        {
            PrepareDirectory(plan);
            return StoreSession.Open(plan.Layout, plan.Options, plan.Cmek, create: !plan.Exists);
        });
    }

    /// <summary>
    /// Opens (or creates) the store as <see cref="Open"/> does, without blocking a thread on the CMEK: the
    /// root key is unwrapped (or, for a new store, wrapped) through the CMEK asynchronously, which for a
    /// KMS is a network call. Opening RocksDB itself reads local files on the calling thread.
    /// </summary>
    /// <param name="options">As for <see cref="Open"/>.</param>
    /// <param name="ct">Cancels the CMEK call; a cancelled open leaves nothing open and creates no registry.</param>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <inheritdoc cref="Open" path="/exception"/>
    public static async Task<EncryptedStore> OpenAsync(StoreOptions options, CancellationToken ct = default)
    {
        OpenPlan plan = PlanOpen(options);
        KeyRegistry registry;
        try
        {
            PrepareDirectory(plan);
            registry = plan.Exists
                ? await KeyRegistry.OpenAsync(plan.Layout.Root, plan.Cmek, ct).ConfigureAwait(false)
                : await KeyRegistry.CreateAsync(plan.Layout.Root, plan.Cmek, ct).ConfigureAwait(false);
        }
        catch
        {
            if (plan.OwnsCmek)
            {
                plan.Cmek.Dispose();
            }
            throw;
        }
        return CompleteOpen(plan, () => StoreSession.Open(plan.Layout, plan.Options, registry));
    }

    /// <summary>What an open decided before any CMEK call: the options copy, the layout, the provider.</summary>
    private sealed record OpenPlan(StoreOptions Options, StoreLayout Layout, bool Exists, ICmekProvider Cmek, bool OwnsCmek);

    private static OpenPlan PlanOpen(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Copy(); // validated and used from here on; the caller's object may change
        options.Validate();
        NativeLibraryCheck.EnsureLoaded();
        var layout = new StoreLayout(options.Path);

        bool exists = KeyRegistry.Exists(layout.Root);
        if (!exists && options.ReadOnly)
        {
            throw new EngineException($"{layout.Root} is not an encrypted store (no {KeyRegistry.FileName} file); a read-only open does not create one.");
        }
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
        return new OpenPlan(options, layout, exists, cmek, ownsCmek);
    }

    /// <summary>Creates the directory of a new store and removes what earlier boots left (not read-only).</summary>
    private static void PrepareDirectory(OpenPlan plan)
    {
        if (!plan.Exists)
        {
            Directory.CreateDirectory(plan.Layout.Root);
        }
        if (!plan.Options.ReadOnly)
        {
            CleanTempDirectory(plan.Layout);
            // Staging directories of a bulk import that crashed before its ingest: never visible data.
            Import.SstStage.DeleteAbandoned(System.IO.Path.Combine(plan.Layout.Root, StoreLayout.NamespacesDir));
        }
    }

    /// <summary>Opens the session with <paramref name="openSession"/> and builds the store; disposes what it made on failure.</summary>
    private static EncryptedStore CompleteOpen(OpenPlan plan, Func<StoreSession> openSession)
    {
        StoreSession? session = null;
        try
        {
            session = openSession();
            return new EncryptedStore(plan.Options, plan.Layout, plan.Cmek, plan.OwnsCmek, session);
        }
        catch
        {
            session?.Dispose();
            if (plan.OwnsCmek)
            {
                plan.Cmek.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Destroys the store at <paramref name="path"/> by forgetting its root key: every generation of the
    /// key registry is overwritten with zeros and deleted, then (unless <paramref name="keepDataFiles"/>)
    /// the directory. Without the registry no key of the store can be recovered, even with the CMEK.
    /// The store must not be open (close it first); the CMEK is not needed.
    /// </summary>
    /// <exception cref="EngineException">The path is not a store.</exception>
    /// <exception cref="IOException">A file could not be overwritten or deleted.</exception>
    public static void Destroy(string path, bool keepDataFiles = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = System.IO.Path.GetFullPath(path);
        if (!KeyRegistry.Exists(root))
        {
            throw new EngineException($"{root} is not an encrypted store (no {KeyRegistry.FileName} file).");
        }

        KeyRegistry.DestroyFiles(root);
        if (!keepDataFiles)
        {
            Directory.Delete(root, recursive: true);
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
    /// <exception cref="StoreLockedException">The store is locked (the plugin is gone with its keys).</exception>
    internal NativeStats PluginStats => Run(_ => Session.Env.Stats);

    /// <summary>Plugin counters of the last session closed by a lock or dispose (live DEKs must be 0).</summary>
    internal NativeStats? LastClosedSessionStats { get; private set; }

    /// <summary>The live session; only valid inside the gate.</summary>
    internal StoreSession Session => _session ?? throw new ObjectDisposedException(nameof(EncryptedStore));

    /// <summary>Runs <paramref name="action"/> inside the gate, translating RocksDB errors.</summary>
    internal T Run<T>(Func<StoreSession, T> action)
    {
        _gate.Enter();
        try
        {
            return action(Session);
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

    internal void Run(Action<StoreSession> action) => Run(s =>
    {
        action(s);
        return true;
    });

    /// <summary>
    /// <see cref="Run{T}(Func{StoreSession, T})"/> for an asynchronous step (a CMEK call): the gate is
    /// held until the step completes, so a lock or close waits for it as for a synchronous one.
    /// </summary>
    internal async Task RunAsync(Func<StoreSession, Task> action)
    {
        _gate.Enter();
        try
        {
            await action(Session).ConfigureAwait(false);
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

    /// <summary>The CMEK provider in use (lock-free; the lock state machine owns it).</summary>
    internal ICmekProvider CurrentCmek => _monitor.Cmek;

    /// <summary>
    /// Uses <paramref name="cmek"/> from now on, after a CMEK rotation made the registry depend on it; the
    /// lock state machine owns the provider and disposes a replaced one it owned at close (a CMEK check may
    /// be using it right now).
    /// </summary>
    internal void ReplaceCmek(ICmekProvider cmek, bool owned) => _monitor.ReplaceCmek(cmek, owned);

    /// <summary>
    /// <see cref="Run{T}(Func{StoreSession, T})"/> with the state passed explicitly, so hot paths can
    /// use a static lambda (no closure or delegate allocated per call); the state may be a ref struct
    /// holding the caller's spans.
    /// </summary>
    internal T Run<TState, T>(TState state, Func<StoreSession, TState, T> action)
        where TState : allows ref struct
    {
        _gate.Enter();
        try
        {
            return action(Session, state);
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

    /// <summary>Enters the gate for a caller that runs several steps itself (a scan cursor); pair with <see cref="ExitGate"/>.</summary>
    internal void EnterGate() => _gate.Enter();

    internal void ExitGate() => _gate.Exit();

    /// <summary>True while the store is locked or closed (a cheap check without entering the gate).</summary>
    internal bool IsGateClosed => _gate.IsClosed;

    internal WriteOptions WriteOptionsFor(bool? sync) => (sync ?? _options.SyncWrites) ? _syncWrite : _asyncWrite;

    internal ReadOptions DefaultReadOptions => _read;

    internal StoreOptions Options => _options;

    /// <summary>True when the store was opened with <see cref="StoreOptions.ReadOnly"/>.</summary>
    public bool IsReadOnly => _options.ReadOnly;

    /// <summary>Refuses a write on a read-only store.</summary>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    internal void ThrowIfReadOnly(string operation)
    {
        if (_options.ReadOnly)
        {
            throw new StoreReadOnlyException(operation, Path);
        }
    }

    /// <summary>
    /// As <see cref="Dispose"/>, for <c>await using</c>. Closing makes no CMEK or network call (a CMEK
    /// check in progress is abandoned, not awaited): it waits only for store calls in flight and for
    /// RocksDB to close, so it completes synchronously.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Closes the database, zeroes every key held in memory, shreds this boot's temp files and
    /// releases native resources. Idempotent.
    /// </summary>
    public void Dispose()
    {
        // Never waits for a CMEK check: one that hangs is abandoned with its thread.
        if (!_monitor.BeginClose())
        {
            return;
        }
        _keys.Stop();
        _gate.CloseAndDrain(() => new ObjectDisposedException(nameof(EncryptedStore), $"The store at {Path} is closed."));
        // No lock needed: after BeginClose the monitor neither locks nor unlocks, so nothing else
        // touches the session.
        CloseSession(storeClosing: true);
        _monitor.Dispose();
        _gate.Dispose();
    }

    /// <summary>Releases open scans, cursors and snapshots, then the session. Call with the gate closed and drained.</summary>
    private void CloseSession(bool storeClosing)
    {
        ISessionResource[] resources;
        lock (_namespaceSync)
        {
            // Iterators before snapshots: an iterator may read through a snapshot.
            resources = [.. _cursors.OrderBy(r => r is StoreSnapshot ? 1 : 0)];
            _cursors.Clear();
        }
        foreach (ISessionResource resource in resources)
        {
            resource.Release(storeClosing);
        }
        _session?.Dispose();
        LastClosedSessionStats = _session?.StatsAtClose;
        _session = null;
        if (!_options.ReadOnly)
        {
            CleanTempDirectory(_layout);
        }
    }

    internal void Track(ISessionResource cursor)
    {
        lock (_namespaceSync)
        {
            _cursors.Add(cursor);
        }
    }

    /// <summary>Scans, cursors and snapshots holding a native object (tests).</summary>
    internal int OpenScans
    {
        get
        {
            lock (_namespaceSync)
            {
                return _cursors.Count;
            }
        }
    }

    internal void Untrack(ISessionResource cursor)
    {
        lock (_namespaceSync)
        {
            _cursors.Remove(cursor);
        }
    }

    /// <summary>
    /// Deletes temp files: those of earlier boots are unreadable by construction (their per-boot
    /// key is gone), and this boot's are shredded when it closes or locks.
    /// </summary>
    private static void CleanTempDirectory(StoreLayout layout)
    {
        string tmp = layout.TempDirectory;
        if (Directory.Exists(tmp))
        {
            foreach (string file in Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories))
            {
                File.Delete(file);
            }
        }
    }
}
