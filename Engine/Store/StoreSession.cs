using Engine.Crypto;
using Engine.Files;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// The handle of a column family created by a namespace import (<c>ekv_cf_import</c>): RocksDbSharp did
/// not create it, so the session destroys it (before RocksDB closes).
/// </summary>
internal sealed class ImportedColumnFamily(nint handle) : ColumnFamilyHandle, IDisposable
{
    private nint _handle = handle;

    public nint Handle => _handle;

    public void Dispose()
    {
        nint h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0)
        {
            Native.Instance.rocksdb_column_family_handle_destroy(h);
        }
    }
}

/// <summary>
/// Everything that exists only while the store is unlocked: the unwrapped key registry, the
/// native env holding DEKs, the block cache of plaintext blocks and RocksDB itself. Locking
/// disposes the session (zeroing keys and dropping plaintext); unlocking builds a new one.
/// </summary>
internal sealed class StoreSession : IDisposable
{
    private readonly StoreLayout _layout;
    private readonly Dictionary<uint, ColumnFamilyHandle> _handles = [];
    // Every call looks its column family up: it reads this immutable copy of _handles without the
    // lock; changes (under _sync) publish a new copy.
    private Dictionary<uint, ColumnFamilyHandle> _published = [];
    private readonly HashSet<uint> _dropped = [];
    // Column families created by a namespace import (Engine/Moves): RocksDbSharp does not know them,
    // so this session destroys their handles before RocksDB closes.
    private readonly Dictionary<uint, ImportedColumnFamily> _imported = [];
    private readonly Lock _sync = new();
    private readonly BlockCacheHandle _blockCache;
    private readonly BlockBasedTableOptions _tableOptions;
    private readonly DbOptions _dbOptions;
    private readonly bool _readOnly;
    private RocksDb? _db;

    private StoreSession(StoreLayout layout, StoreOptions options, KeyRegistry registry)
    {
        _layout = layout;
        _readOnly = options.ReadOnly;
        Registry = registry;
        FileKeys = new FileKeyService(registry, layout.ScopeOf);
        Env = EncryptedEnvHandle.Create(FileKeys, (uint)options.FrameSize, options.InMemory, options.MemoryFileSystem);
        _blockCache = BlockCacheHandle.Create((ulong)Math.Max(options.BlockCacheBytes, 1L << 20));
        _tableOptions = new BlockBasedTableOptions();
        _blockCache.AttachTo(_tableOptions);
        _dbOptions = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCreateMissingColumnFamilies(true)
            .SetKeepLogFileNum(10) // every open rotates the info LOG; keep a bounded history
            .SetEnv(Env.RocksDbEnv);
        SetTrackWals(_dbOptions);
        if (_readOnly)
        {
            // RocksDB opens its info LOG even read-only, renaming the previous one first. A log directory
            // under /dev/null cannot exist, so it fails to create the logger and runs without one (it
            // tolerates that by design): a read-only open writes nothing.
            _dbOptions.SetDbLogDir(ReadOnlyLogDirectory);
        }
    }

    /// <summary>Where a read-only open's info LOG would go: a path no directory or file can be created under.</summary>
    internal const string ReadOnlyLogDirectory = "/dev/null/ekv-read-only-no-log";

    public KeyRegistry Registry { get; }

    public FileKeyService FileKeys { get; }

    public EncryptedEnvHandle Env { get; }

    public RocksDb Db => _db ?? throw new ObjectDisposedException(nameof(StoreSession));

    /// <summary>The plugin's counters taken after RocksDB closed, just before the env was destroyed.</summary>
    public NativeStats? StatsAtClose { get; private set; }

    /// <summary>Every KEK and root-key handle of this session, so tests can see they are zeroed after a lock.</summary>
    internal IReadOnlyList<SecretKey> KeyHandles => [.. Registry.KeyHandles, FileKeys.EphemeralKek];

    /// <summary>
    /// Opens RocksDB with a registry already unwrapped (an unlock unwraps first, without holding the
    /// lock state machine's lock); owns <paramref name="registry"/> from here, disposes it on failure.
    /// </summary>
    /// <param name="layout">The store's layout.</param>
    /// <param name="options">The store's options.</param>
    /// <param name="registry">The unwrapped registry.</param>
    /// <param name="create">True only when the registry was just created: the store has no log files yet.</param>
    /// <exception cref="IntegrityException">A database file failed authentication, or a log file the
    /// store's record of live log files vouches for is missing, cut or unexpected.</exception>
    /// <exception cref="EngineException">RocksDB failed to open.</exception>
    public static StoreSession Open(StoreLayout layout, StoreOptions options, KeyRegistry registry, bool create = false)
    {
        StoreSession? session = null;
        try
        {
            if (options.RollbackAnchor is { } anchor && registry.Anchor is null)
            {
                // Every path that unwraps a registry (open, create, unlock) passes here.
                BlockingBridge.Wait(ct => registry.AttachAnchorAsync(anchor, ct));
            }
            session = new StoreSession(layout, options, registry);
            session.OpenDatabase(create);
            return session;
        }
        catch
        {
            if (session is null)
            {
                registry.Dispose();
            }
            else
            {
                session.Dispose();
            }
            throw;
        }
    }

    private void OpenDatabase(bool create)
    {
        using (StoreFiles files = StoreFiles.Open(this))
        {
            // Before RocksDB reads (or, with create_if_missing, recreates) anything: a missing,
            // cut or planted log file must fail here, not be taken for a crash.
            if (!create)
            {
                LiveLogRecord.CheckBeforeOpen(files, _layout, Registry.Generation, Registry.LoadedFromPrevious);
            }
            // In force until the one written after the open below: a crash in between leaves a
            // record a newer MANIFEST satisfies. A read-only open checks it and writes nothing.
            if (!_readOnly)
            {
                LiveLogRecord.WriteOpen(files, _layout, Registry.Generation);
            }
        }

        var families = new ColumnFamilies(NewColumnFamilyOptions(null));
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (NamespaceInfo ns in Registry.Namespaces)
        {
            string cf = StoreLayout.ColumnFamilyName(ns.Id);
            families.Add(cf, NewColumnFamilyOptions(ns.Id));
            known.Add(cf);
        }

        // RocksDB insists on opening every column family it has. One the registry does not list
        // (left over by a crash in the middle of a namespace deletion) is opened and left alone.
        if (RocksDb.TryListColumnFamilies(_dbOptions, _layout.Root, out string[] existing))
        {
            foreach (string cf in existing)
            {
                if (cf != ColumnFamilies.DefaultName && known.Add(cf))
                {
                    uint? id = StoreLayout.TryParseColumnFamily(cf, out uint parsed) ? parsed : null;
                    families.Add(cf, NewColumnFamilyOptions(id));
                }
            }
        }

        try
        {
            // Read-only: no LOCK file, no recovery writes, no new WAL or MANIFEST.
            _db = _readOnly
                ? RocksDb.OpenReadOnly(_dbOptions, _layout.Root, families, errIfLogFileExists: false)
                : RocksDb.Open(_dbOptions, _layout.Root, families);
        }
        catch (RocksDbException ex)
        {
            throw NativeErrors.Translate(ex);
        }
        foreach (NamespaceInfo ns in Registry.Namespaces)
        {
            _handles[ns.Id] = _db.GetColumnFamily(StoreLayout.ColumnFamilyName(ns.Id));
        }
        PublishHandles();
        if (!_readOnly)
        {
            using (StoreFiles files = StoreFiles.Open(this))
            {
                LiveLogRecord.WriteOpen(files, _layout, Registry.Generation); // the MANIFEST RocksDB opened with
            }
            RaiseSequenceFloor();
        }
    }

    /// <summary>Key of the tombstone <see cref="RaiseSequenceFloor"/> writes (default column family; no namespace uses it).</summary>
    internal static ReadOnlySpan<byte> SequenceFloorKey => "ekv.sequence-floor"u8;

    /// <summary>
    /// Makes sure the database's last sequence number is above 0 before anything can take a snapshot.
    /// RocksDB 7.8.3 drops, in any compaction, every entry visible only at sequence 0 while a snapshot
    /// at sequence 0 is live (compaction_iterator.cc rule (A) without a previous entry; fixed upstream
    /// in facebook/rocksdb#13155). A store whose only data came from bulk imports has last sequence 0
    /// (an ingested file placed at the bottom gets global sequence 0), so a snapshot there, then a
    /// compaction or data-key rotation, lost every imported entry. One tombstone in the default column
    /// family advances the sequence; a flush and a compaction of that family then drop the tombstone, so
    /// the default column family keeps no file (backups and Verify expect only namespace tables). If a
    /// crash loses it, the next open writes it again before any snapshot can exist.
    /// </summary>
    private void RaiseSequenceFloor()
    {
        if (_db!.GetLatestSequenceNumber() != 0)
        {
            return;
        }
        ColumnFamilyHandle defaults = _db.GetDefaultColumnFamily();
        _db.Remove(SequenceFloorKey.ToArray(), defaults);
        FlushOptions flush = new FlushOptions().SetWaitForFlush(true);
        Native.Instance.rocksdb_flush_cf(_db.Handle, flush.Handle, defaults.Handle);
        GC.KeepAlive(flush);
        LiveSstFiles.CompactForced(_db, defaults, null, null); // a plain one may only move the file down
    }

    /// <summary>
    /// Has the MANIFEST record every live WAL and its synced size, so RocksDB's recovery fails on a
    /// WAL that is missing or shorter than it was synced (after a crash too, when the engine's
    /// closed record cannot vouch for the WALs).
    /// </summary>
    private static unsafe void SetTrackWals(DbOptions options) =>
        NativeCall.Check(null, (msg, cap) => NativeMethods.OptionsSetTrackWals(options.Handle, 1, msg, cap));

    /// <summary>
    /// After a clean close of RocksDB: records the exact log files the next open must find. A failure
    /// (the key gone with a revoked CMEK, a full disk) leaves the Open record, which checks less but
    /// never fails a good store.
    /// </summary>
    private void WriteClosedRecord()
    {
        if (_readOnly)
        {
            return;
        }
        try
        {
            using StoreFiles files = StoreFiles.Open(this);
            LiveLogRecord.WriteClosed(files, _layout, Registry.Generation);
        }
        catch (EngineException ex)
        {
            ClosedRecordError = ex;
        }
    }

    /// <summary>Why the last close could not write its record of live log files (null when it did).</summary>
    internal EngineException? ClosedRecordError { get; private set; }

    /// <summary>The column family of a namespace; created when the registry has it but RocksDB not yet.</summary>
    public ColumnFamilyHandle HandleOf(NamespaceInfo ns)
    {
        if (Volatile.Read(ref _published).TryGetValue(ns.Id, out ColumnFamilyHandle? known))
        {
            return known;
        }
        lock (_sync)
        {
            if (_handles.TryGetValue(ns.Id, out ColumnFamilyHandle? handle))
            {
                return handle;
            }
            if (_dropped.Contains(ns.Id) || !Registry.TryGetNamespace(ns.Id, out _))
            {
                // Deleted (EncryptedStore.DeleteNamespace): never recreate its column family.
                throw new ObjectDisposedException(nameof(StoreNamespace), $"The namespace '{ns.Name}' was deleted; its key has been destroyed.");
            }
            string cf = StoreLayout.ColumnFamilyName(ns.Id);
            if (!Db.TryGetColumnFamily(cf, out handle))
            {
                if (_readOnly)
                {
                    throw new StoreReadOnlyException($"The namespace '{ns.Name}' has no data files yet and the store at {_layout.Root} is open read-only.");
                }
                handle = Db.CreateColumnFamily(NewColumnFamilyOptions(ns.Id), cf);
            }
            _handles[ns.Id] = handle;
            PublishHandles();
            return handle;
        }
    }

    /// <summary>
    /// Creates the column family of namespace <paramref name="namespaceId"/> from SST files staged in its
    /// directory (a namespace import, Engine/Moves): RocksDB's CreateColumnFamilyWithImport, all or
    /// nothing, the files hard-linked through the env (their bytes are not rewritten).
    /// </summary>
    /// <param name="namespaceId">The namespace (registered, no column family yet).</param>
    /// <param name="metadata">The file list in the byte form of <c>ekv_cf_import</c>.</param>
    /// <exception cref="IntegrityException">A staged file failed authentication.</exception>
    /// <exception cref="EngineException">RocksDB refused the import.</exception>
    public unsafe void ImportColumnFamily(uint namespaceId, byte[] metadata)
    {
        lock (_sync)
        {
            string cfName = StoreLayout.ColumnFamilyName(namespaceId);
            ColumnFamilyOptions options = NewColumnFamilyOptions(namespaceId);
            nint cf = 0;
            fixed (byte* meta = metadata)
            {
                nint metaAddress = (nint)meta;
                nint db = Db.Handle;
                NativeCall.Check(_layout.NamespaceDirectory(namespaceId), (msg, cap) =>
                    NativeMethods.CfImport(db, options.Handle, cfName, (byte*)metaAddress, (uint)metadata.Length, out cf, msg, cap));
            }
            var handle = new ImportedColumnFamily(cf);
            _imported[namespaceId] = handle;
            _handles[namespaceId] = handle;
            PublishHandles();
        }
    }

    private void PublishHandles() => Volatile.Write(ref _published, new Dictionary<uint, ColumnFamilyHandle>(_handles));

    /// <summary>
    /// Drops the column family of a namespace being deleted (durable in the MANIFEST when this returns)
    /// and refuses it from then on. The handle stays registered with RocksDbSharp, which destroys it
    /// when the database closes. Does nothing when RocksDB has no such column family.
    /// </summary>
    public void DropNamespace(uint namespaceId)
    {
        lock (_sync)
        {
            if (!_dropped.Add(namespaceId))
            {
                return;
            }
            _handles.Remove(namespaceId);
            PublishHandles();
            if (Db.TryGetColumnFamily(StoreLayout.ColumnFamilyName(namespaceId), out ColumnFamilyHandle? handle))
            {
                Native.Instance.rocksdb_drop_column_family(Db.Handle, handle.Handle);
            }
            else if (_imported.TryGetValue(namespaceId, out ImportedColumnFamily? imported))
            {
                Native.Instance.rocksdb_drop_column_family(Db.Handle, imported.Handle);
            }
        }
    }

    /// <summary>Options of a namespace's column family: its own directory, the shared block cache.</summary>
    private ColumnFamilyOptions NewColumnFamilyOptions(uint? namespaceId)
    {
        var options = new ColumnFamilyOptions().SetBlockBasedTableFactory(_tableOptions);
        if (namespaceId is uint id)
        {
            string dir = _layout.NamespaceDirectory(id);
            if (!_readOnly)
            {
                StoreFiles.CreateOwnerOnlyDirectory(dir);
            }
            SetColumnFamilyPath(options, dir);
        }
        return options;
    }

    private static unsafe void SetColumnFamilyPath(ColumnFamilyOptions options, string dir) =>
        NativeCall.Check(dir, (msg, cap) => NativeMethods.OptionsSetCfPath(options.Handle, dir, ulong.MaxValue, msg, cap));

    /// <summary>
    /// Closes RocksDB (memtables are dropped: their data is in the encrypted WAL), empties the block
    /// cache, destroys the native env (every file object and its DEK) and zeroes all KEKs.
    /// </summary>
    public void Dispose()
    {
        bool wasOpen = _db is not null;
        foreach (ImportedColumnFamily imported in _imported.Values)
        {
            imported.Dispose(); // before RocksDB closes: a handle outliving its database is a use after free
        }
        _imported.Clear();
        _db?.Dispose();
        _db = null;
        if (wasOpen && !Env.IsClosed)
        {
            WriteClosedRecord();
        }
        _handles.Clear();
        PublishHandles();
        _blockCache.EvictAll(); // every cached plaintext block is wiped and freed now, not at finalization
        _blockCache.Dispose(); // the table options keep the (empty) cache alive until they are collected
        if (!Env.IsClosed)
        {
            StatsAtClose = Env.Stats; // after RocksDB closed: every file object (and DEK) should be gone
        }
        Env.Dispose();
        FileKeys.Dispose();
        Registry.Dispose();
    }
}
