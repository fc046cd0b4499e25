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
        byte[] image = KeyringCodec.Encode(_storeId, generation, root.CmekUri, root.WrappedRootKek, next, root.RootKek);
        string current = Path.Combine(StoreDirectory, FileName);
        string previous = Path.Combine(StoreDirectory, PreviousFileName);
        string temp = Path.Combine(StoreDirectory, TempFileName);

        DurableIo.WriteAndSync(temp, image, FileMode.Create, FileMode0600);
        InjectFault(RegistryFaultPoint.TempWritten);
        if (_currentFileIsValid && !shred)
        {
            // Keep the generation in force as KEYRING.prev until the new one is durable. A crash
            // between the renames leaves no KEYRING and a valid KEYRING.prev, which Open uses.
            // (A shredding write replaces KEYRING in one atomic rename instead: the generation it
            // supersedes must not survive as KEYRING.prev.)
            _currentFileIsValid = false;
            File.Move(current, previous, overwrite: true);
            DurableIo.SyncDirectory(StoreDirectory);
            InjectFault(RegistryFaultPoint.CurrentMovedToPrevious);
        }

        File.Move(temp, current, overwrite: true);
        DurableIo.SyncDirectory(StoreDirectory);
        _currentFileIsValid = true;
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
}
