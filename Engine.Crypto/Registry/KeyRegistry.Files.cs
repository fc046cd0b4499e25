using System.Globalization;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>Creating, opening and persisting the KEYRING file (layout: docs/format.md, "Key registry").</summary>
internal sealed partial class KeyRegistry
{
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

    /// <summary>The store id from the registry header (plaintext; bound as the root key's CMEK wrap context).</summary>
    /// <returns>32 lowercase hex digits, or null when the directory has no registry.</returns>
    /// <exception cref="IntegrityException">A registry exists but neither generation is usable.</exception>
    public static string? ReadStoreId(string storeDir)
    {
        if (!Exists(storeDir))
        {
            return null;
        }

        return Convert.ToHexStringLower(SelectImage(Path.GetFullPath(storeDir), out _).StoreId);
    }

    /// <summary>Creates the registry of a new store: new store id, root KEK wrapped by the CMEK, system KEK v1.</summary>
    /// <remarks>Synchronous callers wait through <see cref="BlockingBridge"/>.</remarks>
    /// <exception cref="InvalidOperationException">The directory already has a key registry.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap.</exception>
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
    /// <remarks>Synchronous callers wait through <see cref="BlockingBridge"/>.</remarks>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the root KEK (wrong or revoked key).</exception>
    /// <exception cref="IntegrityException">The registry fails authentication, or neither KEYRING nor
    /// KEYRING.prev is a usable registry (the message says what is wrong with each).</exception>
    /// <exception cref="EngineException">The registry was written in a newer format.</exception>
    /// <exception cref="FileNotFoundException">The directory has no registry.</exception>
    public static Task<KeyRegistry> OpenAsync(string storeDir, ICmekProvider cmek, CancellationToken ct = default) =>
        OpenAsync(storeDir, cmek, anchor: null, ct);

    /// <summary>Opens the registry of an existing store and checks it against a rollback anchor.</summary>
    /// <param name="storeDir">The store directory.</param>
    /// <param name="cmek">The CMEK the application pinned (its URI, not the directory's, decides).</param>
    /// <param name="anchor">Null, or the anchor whose record the registry's epoch must reach; every later write advances it.</param>
    /// <param name="ct">Cancels the CMEK and anchor calls.</param>
    /// <exception cref="IntegrityException">As <see cref="OpenAsync(string, ICmekProvider, CancellationToken)"/>; also when the
    /// registry's epoch is below the anchor's, or the anchor's record does not authenticate for this store.</exception>
    public static async Task<KeyRegistry> OpenAsync(string storeDir, ICmekProvider cmek, IRollbackAnchor? anchor, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeDir);
        ArgumentNullException.ThrowIfNull(cmek);
        string dir = Path.GetFullPath(storeDir);
        if (!Exists(dir))
        {
            throw new FileNotFoundException($"{dir} has no key registry ({FileName}); is this a store directory?", Path.Combine(dir, FileName));
        }

        KeyringImage image = SelectImage(dir, out string? recoveryNote);
        byte[] material = await CallCmek(cmek, "unwrap", () => cmek.UnwrapKeyAsync(image.WrappedRootKek, image.StoreId, ct), image.CmekUri).ConfigureAwait(false);
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

        KeyRegistry? registry = null;
        try
        {
            KeyringState state = KeyringCodec.DecryptBody(image, root);
            registry = new KeyRegistry(dir, image.StoreId, cmek.Uri, image.WrappedRootKek, root, state, image.Generation)
            {
                LoadedFromPrevious = recoveryNote is not null,
                RecoveryNote = recoveryNote,
                _currentFileIsValid = recoveryNote is null,
                _currentImage = recoveryNote is null ? image.Raw : null,
                _imageInForce = image.Raw,
            };
            if (anchor is not null)
            {
                await registry.AttachAnchorAsync(anchor, ct).ConfigureAwait(false);
            }

            return registry;
        }
        catch
        {
            if (registry is null)
            {
                root.Dispose();
            }
            else
            {
                registry.Dispose();
            }

            throw;
        }
    }

    /// <summary>Writes <paramref name="next"/> as the next generation, then publishes it. Caller holds the write lock.</summary>
    private void Persist(KeyringState next, bool shred) =>
        Persist(next, shred, new RootBinding(_cmekUri, _wrappedRootKek, _rootKek));

    /// <summary>
    /// Writes <paramref name="next"/> as the next generation with the root KEK, its CMEK wrap and
    /// the CMEK URI of <paramref name="root"/>, then publishes all of it. Caller holds the write lock.
    /// </summary>
    /// <param name="next">The registry contents to write.</param>
    /// <param name="shred">Also overwrite KEYRING.prev with the new generation once it is durable, so
    /// that no generation on disk keeps what the change removed (KEKs, an old root KEK or CMEK wrap).</param>
    /// <param name="root">The root KEK, its CMEK wrap and the CMEK URI to record.</param>
    private void Persist(KeyringState next, bool shred, RootBinding root)
    {
        ulong generation = Generation + 1;
        PrepareAnchorForNewRoot(root.RootKek);
        byte[] image = KeyringCodec.Encode(_storeId, generation, root.CmekUri, root.WrappedRootKek, next, root.RootKek);
        string current = Path.Combine(StoreDirectory, FileName);
        string previous = Path.Combine(StoreDirectory, PreviousFileName);
        string temp = Path.Combine(StoreDirectory, TempFileName);

        DurableIo.WriteAndSync(temp, image, FileMode.Create, FileMode0600);
        InjectFault(RegistryFaultPoint.TempWritten);
        if (_currentFileIsValid && !shred && _currentImage is not null)
        {
            // Keep the generation in force as KEYRING.prev until the new one is durable, as a copy:
            // KEYRING is replaced only by the atomic rename below, so it exists whenever KEYRING.prev
            // does and a missing KEYRING is tampering, never a crash. (A shredding write skips this:
            // the generation it supersedes must not survive as KEYRING.prev.)
            string previousTemp = Path.Combine(StoreDirectory, PreviousTempFileName);
            DurableIo.WriteAndSync(previousTemp, _currentImage, FileMode.Create, FileMode0600);
            File.Move(previousTemp, previous, overwrite: true);
            DurableIo.SyncDirectory(StoreDirectory);
            InjectFault(RegistryFaultPoint.CurrentCopiedToPrevious);
        }

        File.Move(temp, current, overwrite: true);
        DurableIo.SyncDirectory(StoreDirectory);
        _currentFileIsValid = true;
        _currentImage = image;
        _imageInForce = image;
        InjectFault(RegistryFaultPoint.TempMovedToCurrent);

        // The new generation is durable: publish it.
        Generation = generation;
        LoadedFromPrevious = false;
        RecoveryNote = null;
        Volatile.Write(ref _cmekUri, root.CmekUri);
        _wrappedRootKek = root.WrappedRootKek;
        Volatile.Write(ref _rootKek, root.RootKek);
        Volatile.Write(ref _state, next);

        if (shred)
        {
            // No generation on disk may still hold what was removed: the previous one becomes a
            // copy of the new one. If this fails the change stands; the caller reports the error.
            DurableIo.WriteAndSync(temp, image, FileMode.Create, FileMode0600);
            InjectFault(RegistryFaultPoint.ShredTempWritten);
            File.Move(temp, previous, overwrite: true);
            DurableIo.SyncDirectory(StoreDirectory);
        }

        AdvanceAnchor(root.RootKek);
    }

    /// <summary>
    /// Picks the registry generation to open, never guessing: KEYRING when it is intact; KEYRING.prev
    /// only when KEYRING is provably torn (its checksum fails, or it is cut short), and then with a
    /// recovery note. A missing KEYRING next to a KEYRING.prev, a foreign file, or two generations
    /// that disagree on the store id or run backwards are tampering: <see cref="IntegrityException"/>.
    /// </summary>
    private static KeyringImage SelectImage(string dir, out string? recoveryNote)
    {
        string currentPath = Path.Combine(dir, FileName);
        string previousPath = Path.Combine(dir, PreviousFileName);
        ImageProblem current = KeyringCodec.Inspect(currentPath, out KeyringImage? image, out string currentDetail);
        ImageProblem previous = KeyringCodec.Inspect(previousPath, out KeyringImage? prevImage, out string previousDetail);
        recoveryNote = null;
        switch (current)
        {
            case ImageProblem.None:
                if (previous == ImageProblem.None && !prevImage!.StoreId.AsSpan().SequenceEqual(image!.StoreId))
                {
                    throw new IntegrityException(
                        $"the key registry {currentPath} names store {Convert.ToHexStringLower(image.StoreId)} but {PreviousFileName} names store {Convert.ToHexStringLower(prevImage.StoreId)}: one of them was altered or swapped in",
                        currentPath);
                }

                if (previous == ImageProblem.None && prevImage!.Generation > image!.Generation)
                {
                    throw new IntegrityException(
                        string.Create(CultureInfo.InvariantCulture, $"the key registry {currentPath} is generation {image.Generation}, older than {PreviousFileName} (generation {prevImage.Generation}): an older copy was restored"),
                        currentPath);
                }

                return image!;
            case ImageProblem.Unsupported:
                throw new EngineException($"the key registry {currentPath} {currentDetail}");
            case ImageProblem.Missing when previous != ImageProblem.Missing:
                throw new IntegrityException(
                    $"the key registry {currentPath} is missing while {PreviousFileName} exists: registry writes replace {FileName} only by an atomic rename, so no crash leaves this state; it was deleted",
                    currentPath);
            case ImageProblem.Damaged:
                break;
            default:
                throw new IntegrityException($"the key registry {currentPath} {currentDetail}", currentPath);
        }

        if (previous == ImageProblem.None)
        {
            recoveryNote = string.Create(
                CultureInfo.InvariantCulture,
                $"{currentPath} {currentDetail}; using the previous generation {prevImage!.Generation} from {previousPath} (the newer copy is provably torn: its checksum fails)");
            return prevImage;
        }

        throw new IntegrityException(
            $"no usable key registry in {dir}: {FileName} {currentDetail}, {PreviousFileName} {previousDetail}",
            currentPath);
    }

    private static async Task<byte[]> CallCmek(ICmekProvider cmek, string operation, Func<Task<byte[]>> call, string? recordedUri = null)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (EngineException or OperationCanceledException or ObjectDisposedException or ArgumentException))
        {
            // The application's CMEK is used, never the URI the directory records; say when they differ
            // (a store swapped for one made under another key shows here).
            string pinned = recordedUri is not null && !string.Equals(recordedUri, cmek.Uri, StringComparison.Ordinal)
                ? $" (the store's registry records CMEK {recordedUri}; the application's {cmek.Uri} is used)"
                : string.Empty;
            throw new KeyUnavailableException($"the CMEK at {cmek.Uri} failed to {operation} the store's root key{pinned}: {e.Message}", e);
        }
        catch (KeyUnavailableException e) when (recordedUri is not null && !string.Equals(recordedUri, cmek.Uri, StringComparison.Ordinal))
        {
            throw new KeyUnavailableException($"{e.Message} (the store's registry records CMEK {recordedUri}; the application's {cmek.Uri} is used)", e);
        }
    }

    private static KeyLease LeaseOrThrow(SecretKey key) =>
        key.TryLease(out KeyLease lease) ? lease : throw new KeyUnavailableException($"{key} has been zeroed");

    private static string RootDescription(ReadOnlySpan<byte> storeId) => $"RootKek(store={Convert.ToHexStringLower(storeId)})";
}
