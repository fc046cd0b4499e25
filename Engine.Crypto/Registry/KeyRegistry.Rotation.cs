using System.Globalization;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>Points inside a registry write where tests inject a crash (see <see cref="KeyRegistry.FaultInjector"/>).</summary>
internal enum RegistryFaultPoint
{
    /// <summary>KEYRING.tmp is written and synced; nothing renamed yet.</summary>
    TempWritten,

    /// <summary>KEYRING.prev now holds a copy of the generation in force; KEYRING is unchanged (it always exists).</summary>
    CurrentCopiedToPrevious,

    /// <summary>The new generation is KEYRING and durable; not yet published in memory.</summary>
    TempMovedToCurrent,

    /// <summary>A shredding write has written the copy that will replace KEYRING.prev.</summary>
    ShredTempWritten,
}

/// <summary>What the registry header binds: the CMEK URI, the root KEK and its CMEK wrap.</summary>
internal sealed record RootBinding(string CmekUri, byte[] WrappedRootKek, OpaqueKey RootKek);

/// <summary>The KEK versions of one scope as the registry holds them now.</summary>
/// <param name="Scope">System or a namespace.</param>
/// <param name="Current">The version new files are wrapped under.</param>
/// <param name="Versions">Every version held, ascending (includes <paramref name="Current"/>).</param>
internal sealed record KekChainInfo(KeyScope Scope, uint Current, IReadOnlyList<uint> Versions)
{
    /// <summary>True while versions other than the current one are held: a KEK rotation whose
    /// re-wrap has not finished (the registry's only record of a rotation in progress).</summary>
    public bool HasRetirableVersions => Versions.Count > 1;

    public IEnumerable<uint> OldVersions => Versions.Where(v => v != Current);
}

/// <summary>Rotation of the CMEK wrap and of the root KEK, retirement of KEK versions.</summary>
internal sealed partial class KeyRegistry
{
    // Serializes the operations that call the CMEK (which cannot run under _writeLock: they await).
    private readonly SemaphoreSlim _cmekOperations = new(1, 1);

    /// <summary>Tests: called at each <see cref="RegistryFaultPoint"/> of a write; an exception thrown
    /// there leaves the files exactly as a crash at that point would (nothing is published).</summary>
    internal Action<RegistryFaultPoint>? FaultInjector { get; set; }

    /// <summary>Every scope's KEK versions (system first, then namespaces by id).</summary>
    public IReadOnlyList<KekChainInfo> Chains =>
        [.. Volatile.Read(ref _state).Chains.Select(c => new KekChainInfo(c.Scope, c.Current, [.. c.Versions.Keys.Order()]))];

    /// <summary>The KEK versions of one scope, or null for an unknown namespace.</summary>
    public KekChainInfo? GetChain(KeyScope scope)
    {
        KekChain? chain = Volatile.Read(ref _state).ChainOf(scope);
        return chain is null ? null : new KekChainInfo(scope, chain.Current, [.. chain.Versions.Keys.Order()]);
    }

    /// <summary>
    /// Re-wraps the root KEK under <paramref name="newCmek"/> and records its URI, atomically: the
    /// registry on disk is wrapped either by the old CMEK or by the new one, never by neither. The
    /// namespace and system KEKs and the root KEK itself are unchanged (no file is touched).
    /// KEYRING.prev is overwritten too, so once this returns nothing on disk needs the old CMEK.
    /// </summary>
    /// <remarks>Before anything is written the new CMEK must unwrap what it wrapped, so a
    /// misconfigured key (wrong region, no decrypt permission) fails here, not at the next open.</remarks>
    /// <param name="newCmek">The CMEK to wrap under (may be the same key: a KMS key whose backing
    /// material was rotated re-wraps under its newest version). Not owned.</param>
    /// <param name="ct">Cancels the CMEK calls.</param>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap, or cannot unwrap its own
    /// wrap; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="IOException">The registry could not be written; the old CMEK still opens it.</exception>
    public async Task RotateCmekAsync(ICmekProvider newCmek, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(newCmek);
        await _cmekOperations.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            OpaqueKey root = _rootKek;
            byte[] wrapped = await WrapAndCheckAsync(newCmek, root, ct).ConfigureAwait(false);
            lock (_writeLock)
            {
                ObjectDisposedException.ThrowIf(IsDisposed, this);
                Persist(_state, shred: true, new RootBinding(newCmek.Uri, wrapped, root));
            }
        }
        finally
        {
            _cmekOperations.Release();
        }
    }

    /// <summary>
    /// Replaces the root KEK with a new random one wrapped by <paramref name="cmek"/> and re-seals the
    /// registry body (every system and namespace KEK) under it, atomically; the old root KEK is then
    /// zeroed and kept in no registry generation on disk (KEYRING.prev is overwritten as well).
    /// Files are not touched: their DEKs are wrapped by the KEKs below the root, which do not change.
    /// </summary>
    /// <param name="cmek">The store's CMEK (the one <see cref="CmekUri"/> names). Not owned.</param>
    /// <param name="ct">Cancels the CMEK calls.</param>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="IOException">The registry could not be written; the old root KEK still opens it.</exception>
    public async Task RotateRootKekAsync(ICmekProvider cmek, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cmek);
        await _cmekOperations.WaitAsync(ct).ConfigureAwait(false);
        OpaqueKey? fresh = null;
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            fresh = OpaqueKey.Generate(RootDescription(_storeId));
            byte[] wrapped = await WrapAndCheckAsync(cmek, fresh, ct).ConfigureAwait(false);
            lock (_writeLock)
            {
                ObjectDisposedException.ThrowIf(IsDisposed, this);
                OpaqueKey old = _rootKek;
                try
                {
                    Persist(_state, shred: true, new RootBinding(cmek.Uri, wrapped, fresh));
                }
                finally
                {
                    // Once published (even if only the rewrite of KEYRING.prev failed) the new
                    // root belongs to the registry and the old one must go.
                    if (ReferenceEquals(_rootKek, fresh))
                    {
                        fresh = null;
                        old.Dispose();
                    }
                }
            }
        }
        finally
        {
            fresh?.Dispose();
            _cmekOperations.Release();
        }
    }

    /// <summary>
    /// Deletes KEK versions of a scope that no live file uses any more (the end of a KEK rotation),
    /// persisted atomically in both registry generations, then zeroes them in memory. A file still
    /// wrapped under a retired version fails to open with <see cref="KeyUnavailableException"/>:
    /// the caller must have re-wrapped every file first.
    /// </summary>
    /// <returns>The versions retired (those of <paramref name="versions"/> that were held).</returns>
    /// <exception cref="ArgumentException">A version is the scope's current one.</exception>
    /// <exception cref="KeyUnavailableException">No such scope (namespace deleted).</exception>
    /// <exception cref="IOException">The registry could not be written; nothing was retired.</exception>
    public IReadOnlyList<uint> RetireKekVersions(KeyScope scope, IEnumerable<uint> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            KekChain chain = state.ChainOf(scope) ?? throw new KeyUnavailableException($"no KEK chain for scope {scope} in the key registry");
            uint[] retire = [.. versions.Distinct().Where(chain.Versions.ContainsKey).Order()];
            if (retire.Contains(chain.Current))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"version {chain.Current} is the current KEK of {scope}; it cannot be retired"), nameof(versions));
            }

            if (retire.Length == 0)
            {
                return [];
            }

            KeyringState next = ReplaceChain(state, scope, chain.WithoutVersions(retire));
            try
            {
                Persist(next, shred: true);
            }
            finally
            {
                if (ReferenceEquals(_state, next))
                {
                    foreach (uint version in retire)
                    {
                        chain.Versions[version].Dispose();
                    }
                }
            }

            return retire;
        }
    }

    /// <summary>
    /// Writes the registry as it is as a new generation into both KEYRING and KEYRING.prev: finishes
    /// a shredding write that a crash interrupted before KEYRING.prev was overwritten.
    /// </summary>
    /// <exception cref="IOException">The registry could not be written.</exception>
    public void Reseal()
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            Persist(_state, shred: true);
        }
    }

    /// <summary>
    /// Forgets a store's root KEK: overwrites every registry generation (KEYRING, KEYRING.prev,
    /// KEYRING.tmp) with zeros, syncs, and deletes them. Without the registry no key of the store
    /// can be recovered, even with the CMEK; copies of the registry made earlier are not affected.
    /// </summary>
    /// <returns>The number of registry files destroyed.</returns>
    /// <exception cref="IOException">A file could not be overwritten or deleted.</exception>
    public static int DestroyFiles(string storeDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeDir);
        string dir = Path.GetFullPath(storeDir);
        int destroyed = 0;
        foreach (string name in new[] { FileName, PreviousFileName, TempFileName, PreviousTempFileName })
        {
            string path = Path.Combine(dir, name);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                continue;
            }

            // Overwrite in place (not a new file) so the bytes the file held are replaced where the
            // file system allows it; the key hierarchy, not the overwrite, is what the guarantee rests on.
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                stream.Write(new byte[info.Length]);
                stream.Flush(flushToDisk: true);
            }

            File.Delete(path);
            destroyed++;
        }

        if (destroyed > 0)
        {
            DurableIo.SyncDirectory(dir);
        }

        return destroyed;
    }

    private static KeyringState ReplaceChain(KeyringState state, KeyScope scope, KekChain chain) =>
        scope.Kind == KeyScopeKind.System
            ? new KeyringState(state.NextNamespaceId, chain, state.ById.Values, state.PendingShreds)
            : new KeyringState(state.NextNamespaceId, state.System, state.ById.Values.Select(e => e.Info.Id == scope.NamespaceId ? e with { Keys = chain } : e), state.PendingShreds);

    /// <summary>Wraps <paramref name="root"/> with <paramref name="cmek"/> and checks that the wrap unwraps to the same key.</summary>
    private async Task<byte[]> WrapAndCheckAsync(ICmekProvider cmek, OpaqueKey root, CancellationToken ct)
    {
        byte[] copy = GC.AllocateArray<byte>(SecretKey.Size, pinned: true);
        byte[]? back = null;
        try
        {
            using (KeyLease lease = LeaseOrThrow(root))
            {
                lease.Key.CopyTo(copy);
            }

            byte[] wrapped = await CallCmek(cmek, "wrap", () => cmek.WrapKeyAsync(copy, _storeId, ct)).ConfigureAwait(false);
            back = await CallCmek(cmek, "unwrap", () => cmek.UnwrapKeyAsync(wrapped, _storeId, ct)).ConfigureAwait(false);
            if (!CryptographicOperations.FixedTimeEquals(back, copy))
            {
                throw new KeyUnavailableException($"the CMEK at {cmek.Uri} did not unwrap its own wrap of the root key to the same key; the registry was not changed");
            }

            return wrapped;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
            if (back is not null)
            {
                CryptographicOperations.ZeroMemory(back);
            }
        }
    }

    private void InjectFault(RegistryFaultPoint point) => FaultInjector?.Invoke(point);
}
