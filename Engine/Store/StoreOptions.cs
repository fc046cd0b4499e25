using System.Diagnostics.Metrics;
using Engine.Crypto;
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>
/// How to open an <see cref="EncryptedStore"/>. Only <see cref="Path"/> is required for an existing
/// store: it remembers the URI of its CMEK. A new store needs <see cref="Cmek"/> or <see cref="CmekUri"/>.
/// </summary>
public sealed class StoreOptions
{
    /// <summary>Default plaintext bytes per encrypted frame.</summary>
    public const int DefaultFrameSize = 4096;

    /// <summary>Directory of the store. Created when <see cref="CreateIfMissing"/> is set.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>
    /// The customer-managed key. When null, <see cref="CmekUri"/> is used, and failing that the URI the
    /// store recorded when it was created. The store does not dispose a provider passed here.
    /// </summary>
    public ICmekProvider? Cmek { get; set; }

    /// <summary>A CMEK URI such as <c>file:/etc/myapp/store.key</c>; overrides the one the store recorded.</summary>
    public string? CmekUri { get; set; }

    /// <summary>
    /// The store id (<see cref="EncryptedStore.StoreId"/>, 32 hex digits) the application expects at
    /// <see cref="Path"/>, from its own configuration. When set, a directory holding another store fails
    /// with <see cref="IntegrityException"/> before the CMEK is asked or any data file is read, and a
    /// missing store is never created. Null: any store is accepted (see README, "Running pinned").
    /// </summary>
    public string? ExpectedStoreId { get; set; }

    /// <summary>
    /// Where the store's latest epoch is kept outside the store (for example a
    /// <see cref="FileRollbackAnchor"/> on another volume). With it, a store or key registry restored
    /// from an older copy fails to open with <see cref="IntegrityException"/>, and a retired KEK version
    /// cannot become current again. Null: no rollback protection (docs/format.md, threat model).
    /// </summary>
    public IRollbackAnchor? RollbackAnchor { get; set; }

    /// <summary>Create the store (directory, key registry, database) when it does not exist yet.</summary>
    public bool CreateIfMissing { get; set; } = true;

    /// <summary>Plaintext bytes per frame for new files: a power of two from 512 to 1 MiB.</summary>
    public int FrameSize { get; set; } = DefaultFrameSize;

    /// <summary>Size of the block cache shared by all namespaces; it holds plaintext blocks, so hits cost no crypto.</summary>
    public long BlockCacheBytes { get; set; } = 64L << 20;

    /// <summary>Default for writes that do not say: fsync the WAL before acknowledging.</summary>
    public bool SyncWrites { get; set; }

    /// <summary>Largest value accepted by <see cref="StoreNamespace.Put(ReadOnlySpan{byte}, ReadOnlySpan{byte}, bool?)"/> (bytes).</summary>
    public int MaxValueBytes { get; set; } = 64 << 20;

    /// <summary>Largest key accepted (bytes).</summary>
    public int MaxKeyBytes { get; set; } = 64 << 10;

    /// <summary>
    /// How often the store's monitor thread asks the CMEK whether the key is still usable (default 30 s,
    /// at least 100 ms). A revoked key locks the store at the next check, so this is the bound on
    /// how long data stays readable after a revocation.
    /// </summary>
    public TimeSpan CmekCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the store keeps serving from cached keys while the CMEK cannot be reached (default
    /// 15 minutes). When no check has succeeded for this long, the store locks.
    /// </summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long one CMEK check may take before it counts as a transient failure (default 10 s).</summary>
    public TimeSpan CmekCheckTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Unlock automatically when a check succeeds again (default); otherwise call <see cref="EncryptedStore.Unlock"/>.</summary>
    public bool AutoUnlock { get; set; } = true;

    /// <summary>
    /// Where the store logs (category <c>Engine.EncryptedStore</c>): open and close, lock state changes
    /// with their reasons, failed and slow CMEK checks, rotations and their progress, integrity failures
    /// (file and offset), imports. Messages carry paths, ids, counts and reasons, never key bytes or
    /// stored keys and values. Null: the store logs nothing. The store does not dispose the factory.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Where the store's instruments live (meter <c>Engine.EncryptedStore</c>, see
    /// <see cref="Diagnostics.EngineTelemetry"/>): the application's factory, so that its metrics
    /// pipeline (or a test's) sees this store's instruments and their lifetime follows the factory.
    /// Null: one process-wide meter of that name shared by every store; stores are told apart by the
    /// <c>engine.store.id</c> tag either way.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// Open an existing store for reading only: no write lock is taken (several read-only processes and
    /// one writer may open the same directory), nothing in the directory is written, renamed or deleted
    /// (RocksDB's info LOG is not written, temp files are not cleaned, the key registry is not
    /// rewritten, interrupted namespace deletions and key rotations are not resumed), so it works on a
    /// read-only mount. Writes throw <see cref="StoreReadOnlyException"/>. The view is the data as of the
    /// open (including the write-ahead log's unflushed writes); a store that does not exist is not created.
    /// </summary>
    public bool ReadOnly { get; set; }

    internal bool InMemory { get; set; }

    /// <summary>
    /// With <see cref="InMemory"/>: the in-memory file system the store's files live in, shared by
    /// every session so that the store can lock, unlock and reopen in memory (Engine.Testing's
    /// InMemoryStore). Null: each session gets a private one (its files vanish when it closes).
    /// </summary>
    internal Interop.MemoryFileSystemHandle? MemoryFileSystem { get; set; }

    /// <summary>
    /// A copy for the store to keep: it reads its options for as long as it is open (limits on every
    /// call, the schedule of CMEK checks, the reopen after an unlock), so the caller's object must not
    /// reach it. Providers and the in-memory file system are shared, not copied.
    /// </summary>
    internal StoreOptions Copy() => (StoreOptions)MemberwiseClone();

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("StoreOptions.Path must name the store directory.", nameof(Path));
        }
        if (FrameSize < 512 || FrameSize > (1 << 20) || (FrameSize & (FrameSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FrameSize), FrameSize, "FrameSize must be a power of two from 512 to 1048576.");
        }
        if (BlockCacheBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockCacheBytes), BlockCacheBytes, "BlockCacheBytes cannot be negative.");
        }
        if (CmekCheckInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentOutOfRangeException(nameof(CmekCheckInterval), CmekCheckInterval, "CmekCheckInterval must be at least 100 ms.");
        }
        if (KeyCacheTtl < CmekCheckInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(KeyCacheTtl), KeyCacheTtl, "KeyCacheTtl must be at least CmekCheckInterval.");
        }
        if (CmekCheckTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CmekCheckTimeout), CmekCheckTimeout, "CmekCheckTimeout must be positive.");
        }
        if (ExpectedStoreId is not null && (ExpectedStoreId.Length != 32 || !ExpectedStoreId.All(char.IsAsciiHexDigit)))
        {
            throw new ArgumentException("StoreOptions.ExpectedStoreId must be 32 hex digits (EncryptedStore.StoreId).", nameof(ExpectedStoreId));
        }
        if (MaxValueBytes <= 0 || MaxKeyBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxValueBytes), "Key and value limits must be positive.");
        }
    }
}
