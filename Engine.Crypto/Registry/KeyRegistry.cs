using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Engine.Crypto;

/// <summary>Outcome of looking up a KEK version (see <see cref="KeyRegistry.TryGetKek"/>).</summary>
internal enum KekLookup
{
    Found,

    /// <summary>No such namespace: never created, or deleted (crypto-shredded).</summary>
    UnknownScope,

    /// <summary>Version 0 or above the scope's newest version: no such key was ever issued.</summary>
    NeverIssued,

    /// <summary>A version that existed but is no longer held.</summary>
    Retired,

    /// <summary>The registry has been disposed; its keys are zeroed.</summary>
    Closed,
}

/// <summary>
/// The store's key registry: the KEYRING file in the store directory holding the root KEK
/// (wrapped by the CMEK) and, sealed under the root KEK, the system KEK versions and each
/// namespace's KEK versions. See docs/format.md, "Key registry".
/// </summary>
/// <remarks>
/// The CMEK is asked once, at <see cref="CreateAsync"/> or <see cref="OpenAsync(string, ICmekProvider, CancellationToken)"/>. Keys then live in
/// memory as <see cref="SecretKey"/> handles until <see cref="Dispose"/> zeroes them.
/// Reads are lock-free over an immutable snapshot; changes are serialized, persisted
/// atomically (tmp + fsync + rename + directory fsync, previous generation kept as
/// KEYRING.prev) and only then published. The CMEK provider is not owned (not disposed).
/// </remarks>
internal sealed partial class KeyRegistry : IDisposable
{
    public const string FileName = "KEYRING";
    public const string PreviousFileName = "KEYRING.prev";
    public const string TempFileName = "KEYRING.tmp";
    public const string PreviousTempFileName = "KEYRING.prev.tmp";

    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Lock _writeLock = new();
    private readonly byte[] _storeId;

    // Replaced (under _writeLock) by a CMEK or root KEK rotation; see KeyRegistry.Rotation.cs.
    private byte[] _wrappedRootKek;
    private OpaqueKey _rootKek;
    private string _cmekUri;
    private KeyringState _state;
    private bool _currentFileIsValid;
    // The bytes of KEYRING as this registry last wrote or authenticated them: copied to KEYRING.prev
    // before the next write, so KEYRING itself is only ever replaced by one atomic rename.
    private byte[]? _currentImage;
    // The sealed bytes of the generation in force (KEYRING's, or KEYRING.prev's after a torn KEYRING):
    // what a backup copies, so that it never reads the file behind the registry's back.
    private byte[] _imageInForce = [];
    private IRollbackAnchor? _anchor;
    private int _disposed;

    private KeyRegistry(string storeDir, byte[] storeId, string cmekUri, byte[] wrappedRootKek, OpaqueKey rootKek, KeyringState state, ulong generation)
    {
        StoreDirectory = storeDir;
        _storeId = storeId;
        _cmekUri = cmekUri;
        _wrappedRootKek = wrappedRootKek;
        _rootKek = rootKek;
        _state = state;
        Generation = generation;
    }

    public string StoreDirectory { get; }

    public string FilePath => Path.Combine(StoreDirectory, FileName);

    /// <summary>16 random bytes chosen at creation; the CMEK wrap context of the root KEK.</summary>
    public ReadOnlySpan<byte> StoreId => _storeId;

    public string StoreIdHex => Convert.ToHexStringLower(_storeId);

    /// <summary>The CMEK that wraps the root KEK (recorded in the registry header on every write;
    /// changed by <see cref="RotateCmekAsync"/>).</summary>
    public string CmekUri => Volatile.Read(ref _cmekUri);

    /// <summary>
    /// Generation of the registry image in force (1 at creation, +1 per change): the store epoch. It
    /// only grows; the rollback anchor (when set) records it after every write.
    /// </summary>
    public ulong Generation { get; private set; }

    /// <summary>True when KEYRING was torn or missing at open and KEYRING.prev was used.</summary>
    public bool LoadedFromPrevious { get; private set; }

    /// <summary>When <see cref="LoadedFromPrevious"/>: what was wrong with KEYRING, for the log.</summary>
    public string? RecoveryNote { get; private set; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Live namespaces ordered by id.</summary>
    public IReadOnlyList<NamespaceInfo> Namespaces => Volatile.Read(ref _state).Namespaces;

    /// <summary>The id the next created namespace gets (ids are never reused).</summary>
    public uint NextNamespaceId => Volatile.Read(ref _state).NextNamespaceId;

    /// <summary>For tests: every KEK handle of the current snapshot plus the root KEK.</summary>
    internal IEnumerable<SecretKey> KeyHandles => Volatile.Read(ref _state).Chains.SelectMany(c => c.Versions.Values).Cast<SecretKey>().Append(Volatile.Read(ref _rootKek));

    public bool TryGetNamespace(string name, [MaybeNullWhen(false)] out NamespaceInfo info)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool found = Volatile.Read(ref _state).ByName.TryGetValue(name, out NamespaceEntry? entry);
        info = entry?.Info;
        return found;
    }

    public bool TryGetNamespace(uint id, [MaybeNullWhen(false)] out NamespaceInfo info)
    {
        bool found = Volatile.Read(ref _state).ById.TryGetValue(id, out NamespaceEntry? entry);
        info = entry?.Info;
        return found;
    }

    /// <summary>Creates a namespace with a new id and KEK v1, persisted before it is returned.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long, has control characters, or exists.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public NamespaceInfo CreateNamespace(string name) => CreateNamespace(name, pendingShred: false);

    /// <summary>
    /// Creates a namespace with a new id and KEK v1 in one registry write; with
    /// <paramref name="pendingShred"/> it is listed as a pending crypto-shred in the same write.
    /// </summary>
    private NamespaceInfo CreateNamespace(string name, bool pendingShred)
    {
        ValidateName(name);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            if (state.ByName.TryGetValue(name, out NamespaceEntry? existing))
            {
                throw new ArgumentException($"namespace '{name}' already exists (id {existing.Info.Id})", nameof(name));
            }

            if (state.NextNamespaceId == uint.MaxValue)
            {
                throw new EngineException("namespace ids are exhausted");
            }

            var info = new NamespaceInfo(state.NextNamespaceId, name);
            KekChain chain = KekChain.CreateNew(KeyScope.ForNamespace(info.Id));
            var next = new KeyringState(
                state.NextNamespaceId + 1,
                state.System,
                state.ById.Values.Append(new NamespaceEntry(info, chain)),
                pendingShred ? state.PendingShreds.Append(info.Id) : state.PendingShreds);
            try
            {
                Persist(next, shred: false);
            }
            catch
            {
                chain.DisposeAll();
                throw;
            }

            return info;
        }
    }

    /// <summary>
    /// Adds a new KEK version to a scope (system or namespace) and makes it current: new files are
    /// wrapped under it, old files keep opening under their version.
    /// </summary>
    /// <returns>The new version.</returns>
    /// <exception cref="KeyUnavailableException">No such namespace.</exception>
    public uint RotateKek(KeyScope scope)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            KekChain chain = state.ChainOf(scope) ?? throw new KeyUnavailableException($"no KEK chain for scope {scope} in the key registry");
            KekChain rotated = chain.WithNewVersion();
            KeyringState next = scope.Kind == KeyScopeKind.System
                ? new KeyringState(state.NextNamespaceId, rotated, state.ById.Values, state.PendingShreds)
                : new KeyringState(state.NextNamespaceId, state.System, state.ById.Values.Select(e => e.Info.Id == scope.NamespaceId ? e with { Keys = rotated } : e), state.PendingShreds);
            try
            {
                Persist(next, shred: false);
            }
            catch
            {
                rotated.CurrentKek.Dispose();
                throw;
            }

            return rotated.Current;
        }
    }

    /// <summary>
    /// Deletes a namespace and crypto-shreds its KEKs: they are removed from both registry
    /// generations on disk and zeroed in memory, so its files (and backups of them) become
    /// undecryptable. The id is never reused.
    /// </summary>
    /// <exception cref="ArgumentException">No such namespace.</exception>
    /// <exception cref="IOException">The registry could not be written. If only the rewrite of
    /// KEYRING.prev failed, the namespace is deleted but its old KEKs may remain in that file
    /// until the next successful deletion.</exception>
    public void DeleteNamespace(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            if (!state.ByName.TryGetValue(name, out NamespaceEntry? entry))
            {
                throw new ArgumentException($"no namespace named '{name}'", nameof(name));
            }

            var next = new KeyringState(state.NextNamespaceId, state.System, state.ById.Values.Where(e => e != entry), state.PendingShreds);
            try
            {
                Persist(next, shred: true);
            }
            finally
            {
                // Once the new generation is published the namespace is gone, even if rewriting
                // KEYRING.prev failed: zero its keys in memory either way.
                if (ReferenceEquals(_state, next))
                {
                    entry.Keys.DisposeAll();
                }
            }
        }
    }

    /// <summary>Ids of namespaces whose deletion was started (<see cref="MarkPendingShred"/>) and not finished.</summary>
    public IReadOnlyList<uint> PendingShreds => Volatile.Read(ref _state).PendingShreds;

    /// <summary>
    /// Records, durably and authenticated, that the namespace <paramref name="id"/> is being deleted,
    /// so that a crash at any later step is finished by the next open. The only way a crypto-shred
    /// starts: nothing outside the sealed registry (marker files) can ask for one.
    /// </summary>
    /// <exception cref="ArgumentException">No such namespace.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public void MarkPendingShred(uint id)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            if (!state.ById.ContainsKey(id))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"no namespace with id {id}"), nameof(id));
            }

            if (!state.PendingShreds.Contains(id))
            {
                Persist(state.WithPendingShreds(state.PendingShreds.Append(id)), shred: false);
            }
        }
    }

    /// <summary>Forgets a finished deletion (see <see cref="MarkPendingShred"/>); a no-op when it is not pending.</summary>
    /// <exception cref="IOException">The registry could not be written.</exception>
    public void ClearPendingShred(uint id)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            if (state.PendingShreds.Contains(id))
            {
                Persist(state.WithPendingShreds(state.PendingShreds.Where(p => p != id)), shred: true);
            }
        }
    }

    /// <summary>The current KEK of a persistent scope, for wrapping new DEKs.</summary>
    /// <exception cref="KeyUnavailableException">Unknown namespace, or the registry is closed.</exception>
    internal Kek GetCurrentKek(KeyScope scope)
    {
        ThrowIfClosed();
        KekChain chain = Volatile.Read(ref _state).ChainOf(scope)
            ?? throw new KeyUnavailableException($"no key for scope {scope}: the namespace does not exist in the key registry (deleted?)");
        return chain.CurrentKek;
    }

    /// <summary>A specific KEK version of a persistent scope, for unwrapping existing DEKs.</summary>
    internal KekLookup TryGetKek(KeyScope scope, uint version, [NotNullWhen(true)] out Kek? kek)
    {
        kek = null;
        if (IsDisposed)
        {
            return KekLookup.Closed;
        }

        KekChain? chain = Volatile.Read(ref _state).ChainOf(scope);
        if (chain is null)
        {
            return KekLookup.UnknownScope;
        }

        if (chain.Versions.TryGetValue(version, out kek))
        {
            return KekLookup.Found;
        }

        return version == 0 || version > chain.Versions.Keys.Max() ? KekLookup.NeverIssued : KekLookup.Retired;
    }

    /// <summary>
    /// A copy of the sealed registry generation in force, byte for byte as it is (or was last
    /// authenticated) on disk. Taken under the write lock, so it is never half of a write; the copy
    /// opens with the same CMEK (<see cref="OpenAsync(string, ICmekProvider, CancellationToken)"/>).
    /// </summary>
    /// <exception cref="KeyUnavailableException">The registry is closed.</exception>
    public byte[] CopySealedImage()
    {
        lock (_writeLock)
        {
            ThrowIfClosed();
            return _imageInForce.ToArray();
        }
    }

    /// <summary>The version new DEKs of a scope are wrapped under.</summary>
    /// <exception cref="KeyUnavailableException">Unknown namespace, or the registry is closed.</exception>
    public uint CurrentKekVersion(KeyScope scope) => GetCurrentKek(scope).Version;

    /// <summary>Zeroes every key (after in-flight uses finish). Idempotent.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            foreach (KekChain chain in _state.Chains)
            {
                chain.DisposeAll();
            }

            _rootKek.Dispose();
        }

        _cmekOperations.Dispose();
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"KeyRegistry(store={StoreIdHex}, generation={Generation}, namespaces={Namespaces.Count}, cmek={CmekUri})");

    private void ThrowIfClosed()
    {
        if (IsDisposed)
        {
            throw new KeyUnavailableException($"the key registry of store {StoreIdHex} is closed; its keys have been zeroed");
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > KeyringCodec.MaxNameBytes)
        {
            throw new ArgumentException($"namespace names are at most {KeyringCodec.MaxNameBytes} UTF-8 bytes", nameof(name));
        }

        if (name.Any(char.IsControl))
        {
            throw new ArgumentException("namespace names must not contain control characters", nameof(name));
        }
    }
}
