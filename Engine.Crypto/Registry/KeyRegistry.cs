using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
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
/// The CMEK is asked once, at <see cref="Create"/> or <see cref="Open"/>. Keys then live in
/// memory as <see cref="SecretKey"/> handles until <see cref="Dispose"/> zeroes them.
/// Reads are lock-free over an immutable snapshot; changes are serialized, persisted
/// atomically (tmp + fsync + rename + directory fsync, previous generation kept as
/// KEYRING.prev) and only then published. The CMEK provider is not owned (not disposed).
/// </remarks>
internal sealed class KeyRegistry : IDisposable
{
    public const string FileName = "KEYRING";
    public const string PreviousFileName = "KEYRING.prev";
    public const string TempFileName = "KEYRING.tmp";

    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Lock _writeLock = new();
    private readonly byte[] _storeId;
    private readonly byte[] _wrappedRootKek;
    private readonly OpaqueKey _rootKek;
    private KeyringState _state;
    private bool _currentFileIsValid;
    private int _disposed;

    private KeyRegistry(string storeDir, byte[] storeId, string cmekUri, byte[] wrappedRootKek, OpaqueKey rootKek, KeyringState state, ulong generation)
    {
        StoreDirectory = storeDir;
        _storeId = storeId;
        CmekUri = cmekUri;
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

    /// <summary>The CMEK that unwrapped the root KEK (recorded in the registry header on every write).</summary>
    public string CmekUri { get; }

    /// <summary>Generation of the registry image in force (1 at creation, +1 per change).</summary>
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
    internal IEnumerable<SecretKey> KeyHandles => Volatile.Read(ref _state).Chains.SelectMany(c => c.Versions.Values).Cast<SecretKey>().Append(_rootKek);

    public static bool Exists(string storeDir) =>
        File.Exists(Path.Combine(storeDir, FileName)) || File.Exists(Path.Combine(storeDir, PreviousFileName));

    /// <summary>The CMEK URI from the registry header (plaintext; authenticated only once opened).</summary>
    /// <returns>The URI, or null when the directory has no registry.</returns>
    /// <exception cref="IntegrityException">A registry exists but neither generation is usable.</exception>
    public static string? ReadCmekUri(string storeDir)
    {
        if (!Exists(storeDir))
        {
            return null;
        }

        return SelectImage(Path.GetFullPath(storeDir), out _).CmekUri;
    }

    /// <summary>Creates the registry of a new store: new store id, root KEK wrapped by the CMEK, system KEK v1.</summary>
    /// <exception cref="InvalidOperationException">The directory already has a key registry.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap.</exception>
    public static KeyRegistry Create(string storeDir, ICmekProvider cmek) =>
        CreateAsync(storeDir, cmek).GetAwaiter().GetResult();

    public static async Task<KeyRegistry> CreateAsync(string storeDir, ICmekProvider cmek, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeDir);
        ArgumentNullException.ThrowIfNull(cmek);
        string dir = Path.GetFullPath(storeDir);
        if (Exists(dir))
        {
            throw new InvalidOperationException($"{dir} already has a key registry ({FileName}); refusing to create a second one");
        }

        Directory.CreateDirectory(dir);
        byte[] storeId = RandomNumberGenerator.GetBytes(KeyringCodec.StoreIdSize);
        OpaqueKey root = OpaqueKey.Generate(RootDescription(storeId));
        KeyringState? state = null;
        try
        {
            // The provider gets a pinned copy of the root key that is zeroed right after the call.
            byte[] wrapped;
            byte[] copy = GC.AllocateArray<byte>(SecretKey.Size, pinned: true);
            try
            {
                using (KeyLease lease = LeaseOrThrow(root))
                {
                    lease.Key.CopyTo(copy);
                }

                wrapped = await CallCmek(cmek, "wrap", () => cmek.WrapKeyAsync(copy, storeId, ct)).ConfigureAwait(false);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(copy);
            }

            state = new KeyringState(1, KekChain.CreateNew(KeyScope.System), []);
            var registry = new KeyRegistry(dir, storeId, cmek.Uri, wrapped, root, state, 0);
            registry.Persist(state, shred: false);
            return registry;
        }
        catch
        {
            state?.System.DisposeAll();
            root.Dispose();
            throw;
        }
    }

    /// <summary>Opens the registry of an existing store.</summary>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the root KEK (wrong or revoked key).</exception>
    /// <exception cref="IntegrityException">The registry fails authentication, or neither KEYRING nor
    /// KEYRING.prev is a usable registry (the message says what is wrong with each).</exception>
    /// <exception cref="EngineException">The registry was written in a newer format.</exception>
    /// <exception cref="FileNotFoundException">The directory has no registry.</exception>
    public static KeyRegistry Open(string storeDir, ICmekProvider cmek) =>
        OpenAsync(storeDir, cmek).GetAwaiter().GetResult();

    public static async Task<KeyRegistry> OpenAsync(string storeDir, ICmekProvider cmek, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeDir);
        ArgumentNullException.ThrowIfNull(cmek);
        string dir = Path.GetFullPath(storeDir);
        if (!Exists(dir))
        {
            throw new FileNotFoundException($"{dir} has no key registry ({FileName}); is this a store directory?", Path.Combine(dir, FileName));
        }

        KeyringImage image = SelectImage(dir, out string? recoveryNote);
        byte[] material = await CallCmek(cmek, "unwrap", () => cmek.UnwrapKeyAsync(image.WrappedRootKek, image.StoreId, ct)).ConfigureAwait(false);
        OpaqueKey root;
        try
        {
            if (material.Length != SecretKey.Size)
            {
                throw new KeyUnavailableException(string.Create(CultureInfo.InvariantCulture, $"the CMEK at {cmek.Uri} unwrapped a {material.Length}-byte root key; expected {SecretKey.Size}"));
            }

            root = OpaqueKey.FromMaterial(RootDescription(image.StoreId), material);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }

        try
        {
            KeyringState state = KeyringCodec.DecryptBody(image, root);
            return new KeyRegistry(dir, image.StoreId, cmek.Uri, image.WrappedRootKek, root, state, image.Generation)
            {
                LoadedFromPrevious = recoveryNote is not null,
                RecoveryNote = recoveryNote,
                _currentFileIsValid = recoveryNote is null,
            };
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

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
    public NamespaceInfo CreateNamespace(string name)
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
            var next = new KeyringState(state.NextNamespaceId + 1, state.System, state.ById.Values.Append(new NamespaceEntry(info, chain)));
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
                ? new KeyringState(state.NextNamespaceId, rotated, state.ById.Values)
                : new KeyringState(state.NextNamespaceId, state.System, state.ById.Values.Select(e => e.Info.Id == scope.NamespaceId ? e with { Keys = rotated } : e));
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

            var next = new KeyringState(state.NextNamespaceId, state.System, state.ById.Values.Where(e => e != entry));
            Persist(next, shred: true);
            entry.Keys.DisposeAll();
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

    /// <summary>Writes <paramref name="next"/> as the next generation, then publishes it. Caller holds the write lock.</summary>
    private void Persist(KeyringState next, bool shred)
    {
        ulong generation = Generation + 1;
        byte[] image = KeyringCodec.Encode(_storeId, generation, CmekUri, _wrappedRootKek, next, _rootKek);
        string current = Path.Combine(StoreDirectory, FileName);
        string previous = Path.Combine(StoreDirectory, PreviousFileName);
        string temp = Path.Combine(StoreDirectory, TempFileName);

        DurableIo.WriteAndSync(temp, image, FileMode.Create, FileMode0600);
        if (_currentFileIsValid && !shred)
        {
            // Keep the generation in force as KEYRING.prev until the new one is durable. A crash
            // between the renames leaves no KEYRING and a valid KEYRING.prev, which Open uses.
            _currentFileIsValid = false;
            File.Move(current, previous, overwrite: true);
            DurableIo.SyncDirectory(StoreDirectory);
        }

        File.Move(temp, current, overwrite: true);
        DurableIo.SyncDirectory(StoreDirectory);
        _currentFileIsValid = true;

        if (shred)
        {
            // No generation on disk may still hold the shredded KEKs: the previous one becomes a
            // copy of the new one.
            DurableIo.WriteAndSync(temp, image, FileMode.Create, FileMode0600);
            File.Move(temp, previous, overwrite: true);
            DurableIo.SyncDirectory(StoreDirectory);
        }

        Generation = generation;
        LoadedFromPrevious = false;
        RecoveryNote = null;
        Volatile.Write(ref _state, next);
    }

    private static KeyringImage SelectImage(string dir, out string? recoveryNote)
    {
        string currentPath = Path.Combine(dir, FileName);
        string previousPath = Path.Combine(dir, PreviousFileName);
        ImageProblem current = KeyringCodec.Inspect(currentPath, out KeyringImage? image, out string currentDetail);
        recoveryNote = null;
        switch (current)
        {
            case ImageProblem.None:
                return image!;
            case ImageProblem.Unsupported:
                throw new EngineException($"the key registry {currentPath} {currentDetail}");
            case ImageProblem.Malformed:
                throw new IntegrityException($"the key registry {currentPath} {currentDetail}", currentPath);
        }

        ImageProblem previous = KeyringCodec.Inspect(previousPath, out KeyringImage? prevImage, out string previousDetail);
        if (previous == ImageProblem.None)
        {
            recoveryNote = string.Create(
                CultureInfo.InvariantCulture,
                $"{currentPath} {currentDetail}; using the previous generation {prevImage!.Generation} from {previousPath} (a crash during a registry update leaves this state)");
            return prevImage;
        }

        throw new IntegrityException(
            $"no usable key registry in {dir}: {FileName} {currentDetail}, {PreviousFileName} {previousDetail}",
            current == ImageProblem.Missing ? previousPath : currentPath);
    }

    private static async Task<byte[]> CallCmek(ICmekProvider cmek, string operation, Func<Task<byte[]>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (EngineException or OperationCanceledException or ObjectDisposedException or ArgumentException))
        {
            throw new KeyUnavailableException($"the CMEK at {cmek.Uri} failed to {operation} the store's root key: {e.Message}", e);
        }
    }

    private static KeyLease LeaseOrThrow(SecretKey key) =>
        key.TryLease(out KeyLease lease) ? lease : throw new KeyUnavailableException($"{key} has been zeroed");

    private static string RootDescription(ReadOnlySpan<byte> storeId) => $"RootKek(store={Convert.ToHexStringLower(storeId)})";

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
