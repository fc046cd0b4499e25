using System.Diagnostics;
using Engine.Crypto;
using Engine.Diagnostics;
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
    private readonly StoreTelemetry _telemetry;
    private StoreSession? _session;
    // Held from Open to Dispose, across lock/unlock of the session (Files/StoreDirectoryLock.cs).
    private readonly Files.StoreDirectoryLock? _directoryLock; // null when read-only: a reader takes no lock

    private EncryptedStore(StoreOptions options, StoreLayout layout, Files.StoreDirectoryLock? directoryLock, ICmekProvider cmek, bool ownsCmek, StoreSession session, StoreTelemetry telemetry)
    {
        _directoryLock = directoryLock;
        _options = options;
        _layout = layout;
        _session = session;
        StoreId = session.Registry.StoreIdHex;
        _telemetry = telemetry;
        foreach (NamespaceInfo ns in session.Registry.Namespaces)
        {
            _namespaces[ns.Name] = new StoreNamespace(this, ns);
        }
        if (session.Registry.RecoveryNote is { } recovery)
        {
            _openNotes.Add("key registry fallback: " + recovery);
        }
        _monitor = new CmekMonitor(this, this, layout.Root, options, cmek, ownsCmek, session.Registry.CmekUri, telemetry);
        _monitor.StateChanged += (_, change) => _telemetry.StateChanged(change);
        _keys = new StoreKeys(this);
        _telemetry.Attach(this);
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

    /// <summary>This store's logger, instruments and spans.</summary>
    internal StoreTelemetry Telemetry => _telemetry;

    /// <summary>True when <paramref name="path"/> is the directory of an encrypted store (it has a key registry).</summary>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = System.IO.Path.GetFullPath(path);
        return Files.StoreFiles.RootExists(root) && KeyRegistry.Exists(root);
    }

    /// <summary>
    /// Opens (or creates) the store at <see cref="StoreOptions.Path"/>. The store keeps a copy of
    /// <paramref name="options"/>: changing the object afterwards changes nothing, and an unlock
    /// reopens with the options given here.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK is missing, unreadable, or does not unwrap this store's root key; no file is touched.</exception>
    /// <exception cref="IntegrityException">The key registry or a database file failed authentication.</exception>
    /// <exception cref="StoreInUseException">The store is open in another process or another instance
    /// of this process; nothing in its directory was deleted or written.</exception>
    /// <exception cref="EngineException">The path is not a store, or RocksDB failed to open.</exception>
    public static EncryptedStore Open(StoreOptions options)
    {
        OpenPlan plan = PlanOpen(options);
        // Completes synchronously: the registry is unwrapped through the one BlockingBridge wait of the open.
        ValueTask<EncryptedStore> open = OpenCoreAsync(plan, synchronous: true, CancellationToken.None);
        Debug.Assert(open.IsCompleted, "a synchronous open never awaits");
        return open.GetAwaiter().GetResult();
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
        return await OpenCoreAsync(plan, synchronous: false, ct).ConfigureAwait(false);
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
            if (options.ExpectedStoreId is not null)
            {
                throw new IntegrityException($"{layout.Root} has no key registry but StoreOptions.ExpectedStoreId pins store {options.ExpectedStoreId}: a pinned store is never created", System.IO.Path.Combine(layout.Root, KeyRegistry.FileName));
            }
            EnsureCreatable(layout.Root, options);
        }
        else
        {
            CheckExpectedStoreId(layout.Root, options, KeyRegistry.ReadStoreId(layout.Root));
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

    /// <summary>
    /// The open after the plan: takes the directory lock before touching anything (not read-only), removes
    /// what a crashed import left, unwraps (or creates) the registry through the CMEK, opens RocksDB and
    /// builds the store; disposes what it made on failure. With <paramref name="synchronous"/> it never
    /// awaits (the CMEK call goes through <see cref="BlockingBridge"/>), so <see cref="Open"/> gets a
    /// completed task.
    /// </summary>
    private static async ValueTask<EncryptedStore> OpenCoreAsync(OpenPlan plan, bool synchronous, CancellationToken ct)
    {
        StoreLayout layout = plan.Layout;
        StoreOptions options = plan.Options;
        bool exists = plan.Exists;
        StoreSession? session = null;
        Files.StoreDirectoryLock? directoryLock = null;
        StoreTelemetry? telemetry = null;
        IReadOnlyList<string> createdDirectories = [];
        bool creating = false;
        using Activity? activity = EngineTelemetry.ActivitySource.StartActivity("engine.store.open");
        long started = Stopwatch.GetTimestamp();
        try
        {
            if (!options.ReadOnly)
            {
                if (!exists)
                {
                    createdDirectories = Files.StoreFiles.CreateStoreRoot(layout.Root);
                }
                // Lock before touching: a second opener must fail here, before it deletes the temp
                // files or import staging of the store's holder (or writes anything).
                directoryLock = Files.StoreDirectoryLock.Acquire(layout.Root);
                // Another creator may have finished between the check above and the lock.
                exists = exists || KeyRegistry.Exists(layout.Root);
                // Staging directories of a bulk import that crashed before its ingest: never visible data.
                Import.SstStage.DeleteAbandoned(System.IO.Path.Combine(layout.Root, StoreLayout.NamespacesDir));
            }
            bool create = !exists;
            creating = create && directoryLock is not null;
            KeyRegistry registry = synchronous
                ? BlockingBridge.Wait(c => create ? KeyRegistry.CreateAsync(layout.Root, plan.Cmek, c) : KeyRegistry.OpenAsync(layout.Root, plan.Cmek, c), ct)
                : await (create ? KeyRegistry.CreateAsync(layout.Root, plan.Cmek, ct) : KeyRegistry.OpenAsync(layout.Root, plan.Cmek, ct)).ConfigureAwait(false);
            session = StoreSession.Open(layout, options, registry, create);
            // Again, now authenticated: the id is the root key's wrap context.
            CheckExpectedStoreId(layout.Root, options, session.Registry.StoreIdHex);
            if (!options.ReadOnly)
            {
                // Temp files of earlier boots: unreadable by construction (their per-boot key is gone).
                DeleteTempFiles(session, layout);
            }
            telemetry = new StoreTelemetry(options, session.Registry.StoreIdHex, layout.Root);
            activity?.SetTag(EngineTelemetry.StoreIdTag, telemetry.StoreId);
            var store = new EncryptedStore(options, layout, directoryLock, plan.Cmek, plan.OwnsCmek, session, telemetry);
            double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            EngineLog.StoreOpened(telemetry.Logger, telemetry.StoreId, layout.Root, session.Registry.Namespaces.Count, session.Registry.CmekUri, create, elapsedMs);
            return store;
        }
        catch (Exception ex)
        {
            StoreTelemetry.Fail(activity, ex);
            Microsoft.Extensions.Logging.ILogger logger = telemetry?.Logger ?? StoreTelemetry.LoggerOf(options);
            if (ex is IntegrityException integrity)
            {
                EngineLog.IntegrityFailure(logger, telemetry?.StoreId ?? "(not open)", integrity.Path ?? "(unknown file)", integrity.Offset);
            }
            EngineLog.StoreOpenFailed(logger, layout.Root, ex);
            telemetry?.Dispose();
            session?.Dispose();
            if (creating)
            {
                // A create is all-or-nothing: still under the lock, remove what this open wrote.
                UndoCreate(layout.Root, createdDirectories, logger);
            }
            directoryLock?.Dispose();
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
            Files.StoreFiles.DeleteTreeOnDisk(root);
        }
    }

    /// <summary>
    /// Undoes a create that failed (the CMEK could not wrap, RocksDB could not open, ...): the registry
    /// is destroyed and whatever the create wrote next to it deleted, then the directories the open
    /// made are removed; a directory that existed (empty) before stays. Never throws: the caller is
    /// already failing with the error that matters; a leftover is logged.
    /// </summary>
    private static void UndoCreate(string root, IReadOnlyList<string> createdDirectories, Microsoft.Extensions.Logging.ILogger logger)
    {
        try
        {
            // Only a registry written by this open means the files here are this open's: before the
            // lock the directory was checked to be empty or missing, and the lock kept other openers out.
            bool wroteFiles = KeyRegistry.DestroyFiles(root) > 0;
            Files.StoreFiles.UndoCreateOnDisk(root, createdDirectories, wroteFiles);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Logged as the open's failure (event 1003, after the one with the cause): every event id
            // must be one a test can produce, and this needs a directory that refuses deletion.
            EngineLog.StoreOpenFailed(logger, root, new IOException($"the failed create could not remove what it wrote in {root}; delete the directory's contents by hand", e));
        }
    }

    private static void EnsureCreatable(string root, StoreOptions options)
    {
        if (!options.CreateIfMissing)
        {
            throw new EngineException($"{root} is not an encrypted store (no {KeyRegistry.FileName} file) and CreateIfMissing is off.");
        }
        switch (Files.StoreFiles.InspectRoot(root))
        {
            case Files.StoreFiles.RootState.NotADirectory:
                throw new EngineException($"{root} is a file, not a store directory.");
            case Files.StoreFiles.RootState.NotEmpty:
                throw new EngineException($"{root} is not an encrypted store (no {KeyRegistry.FileName} file) and is not empty; refusing to create a store over existing files.");
        }
    }

    /// <summary>Counters of the native plugin (files, frames, DEKs held), for diagnostics and tests.</summary>
    /// <exception cref="StoreLockedException">The store is locked (the plugin is gone with its keys).</exception>
    internal NativeStats PluginStats => Run(_ => Session.Env.Stats);

    /// <summary>Plugin counters of the last session closed by a lock or dispose (live DEKs must be 0).</summary>
    internal NativeStats? LastClosedSessionStats { get; private set; }

    /// <summary>The plugin counters of the live session, or null while locked or closed (metrics collection must not throw).</summary>
    internal NativeStats? TryReadPluginStats()
    {
        if (_gate.IsClosed)
        {
            return null;
        }
        try
        {
            return PluginStats;
        }
        catch (Exception e) when (e is EngineException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The one place RocksDB errors become the engine's exceptions on the store's paths: an integrity
    /// failure is also logged and counted here.
    /// </summary>
    internal EngineException Translate(RocksDbException error)
    {
        EngineException translated = NativeErrors.Translate(error);
        if (translated is IntegrityException integrity)
        {
            _telemetry.IntegrityFailure(integrity);
        }
        return translated;
    }

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
            throw Translate(ex);
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
            throw Translate(ex);
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
            throw Translate(ex);
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
        AdvanceEpochAtClose();
        // No lock needed: after BeginClose the monitor neither locks nor unlocks, so nothing else
        // touches the session.
        CloseSession(storeClosing: true);
        _monitor.Dispose();
        _gate.Dispose();
        _telemetry.Dispose();
        EngineLog.StoreClosed(_telemetry.Logger, _telemetry.StoreId, Path);
        // Last: RocksDB is closed and this boot's temp files are gone.
        _directoryLock?.Dispose();
    }

    /// <summary>A clean close grows the store epoch (one registry write); a failure leaves the epoch as it was.</summary>
    private void AdvanceEpochAtClose()
    {
        if (_session is null || _options.InMemory || _options.ReadOnly)
        {
            return;
        }
        try
        {
            _session.Registry.AdvanceEpoch();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EngineException or ObjectDisposedException)
        {
            AddOpenNote("the store epoch could not be advanced at close: " + e.Message);
        }
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
        if (_session is not null && !_options.ReadOnly)
        {
            // Shred this boot's temp files while the env that wrote them (disk or memory) is alive.
            DeleteTempFiles(_session, _layout);
        }
        _session?.Dispose();
        LastClosedSessionStats = _session?.StatsAtClose;
        _telemetry.SessionClosed(LastClosedSessionStats);
        _session = null;
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
    /// Deletes temp files through the store's owner of files: those of earlier boots are unreadable by
    /// construction (their per-boot key is gone), and this boot's are shredded when it closes or locks.
    /// </summary>
    private static void DeleteTempFiles(StoreSession session, StoreLayout layout)
    {
        using Files.StoreFiles files = Files.StoreFiles.Open(session);
        files.DeleteTempFiles(layout);
    }
}
