using Engine.Crypto;

namespace Engine;

/// <summary>
/// The key lifecycle of one open store (<see cref="EncryptedStore.Keys"/>): rotation at every level
/// of the hierarchy, the background re-wrap of file headers, key status, and the crypto-shred behind
/// <see cref="EncryptedStore.DeleteNamespace"/> (docs/key-rotation.md). All members are thread-safe;
/// operations that change the key hierarchy run one at a time.
/// </summary>
#pragma warning disable CA1001 // the store's Dispose ends it (Stop); callers must not close the key lifecycle of a store they hold
public sealed class StoreKeys
#pragma warning restore CA1001
{
    private readonly EncryptedStore _store;

    // Serializes the operations that change the key hierarchy (the worker's retirements excepted:
    // the registry serializes its own writes).
    private readonly SemaphoreSlim _operations = new(1, 1);

    /// <summary>Held by a backup while it copies the registry (Engine/Backup): no rotation or shred meanwhile.</summary>
    internal SemaphoreSlim Operations => _operations;
    private readonly KeyRotationWorker _worker;
    private string? _recoveryProblem;

    internal StoreKeys(EncryptedStore store)
    {
        _store = store;
        _worker = new KeyRotationWorker(store);
    }

    /// <summary>The background re-wrap worker (tests tune its delays).</summary>
    internal KeyRotationWorker Worker => _worker;

    /// <summary>
    /// Upper bound on header re-wraps per second of the background KEK rotation (default 200; 0 or
    /// less = unthrottled). Each re-wrap writes and syncs 512 bytes per header slot, never data.
    /// </summary>
    public double RotationFilesPerSecond
    {
        get => _worker.FilesPerSecond;
        set => _worker.FilesPerSecond = value;
    }

    /// <summary>Why the last key rotation or deletion could not finish yet (it is retried), or null.</summary>
    public string? RotationProblem => Volatile.Read(ref _recoveryProblem) ?? _worker.LastProblem;

    /// <summary>
    /// Re-wraps the root key under the CMEK at <paramref name="newCmekUri"/>, atomically, and uses that
    /// CMEK from now on (the store records the URI: later opens need no option). Data and file headers
    /// are not touched. Afterwards no registry generation on disk needs the old CMEK, so the operator
    /// may disable or destroy it, which also makes copies of the store taken before unreadable.
    /// Blocks on the CMEK calls; <see cref="RotateCmekAsync(string, CancellationToken)"/> does not.
    /// </summary>
    /// <param name="newCmekUri">A CMEK URI (<c>file:</c> or <c>aws-kms:</c>); the same URI re-wraps under
    /// the key's newest material (a KMS key rotated by AWS).</param>
    /// <exception cref="ArgumentException">The URI is malformed.</exception>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap, or cannot unwrap its own
    /// wrap (checked before anything is written); the store keeps the old one.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old CMEK still opens it.</exception>
    public void RotateCmek(string newCmekUri) => BlockingBridge.Wait(ct => RotateCmekAsync(newCmekUri, ct));

    /// <summary>
    /// As <see cref="RotateCmek(string)"/> with a provider the caller owns (the store never disposes
    /// it, and uses it until closed or rotated again).
    /// </summary>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written.</exception>
    public void RotateCmek(ICmekProvider newCmek) => BlockingBridge.Wait(ct => RotateCmekAsync(newCmek, ct));

    /// <summary>As <see cref="RotateCmek(string)"/>, without blocking a thread on the CMEK calls.</summary>
    /// <exception cref="ArgumentException">The URI is malformed.</exception>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old CMEK still opens it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled before the registry was written.</exception>
    public Task RotateCmekAsync(string newCmekUri, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(newCmekUri);
        return RotateCmekCoreAsync(CmekProviders.Open(newCmekUri), owned: true, ct);
    }

    /// <summary>As <see cref="RotateCmek(ICmekProvider)"/>, without blocking a thread on the CMEK calls.</summary>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled before the registry was written.</exception>
    public Task RotateCmekAsync(ICmekProvider newCmek, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(newCmek);
        return RotateCmekCoreAsync(newCmek, owned: false, ct);
    }

    /// <summary>
    /// Replaces the root key with a new one (wrapped by the CMEK) and re-seals every system and
    /// namespace KEK under it, atomically; the old root key is zeroed and kept in no registry file.
    /// One CMEK wrap and one unwrap; no file of the database is touched. Blocks on the CMEK calls;
    /// <see cref="RotateRootKeyAsync"/> does not.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old root still opens it.</exception>
    public void RotateRootKey() => BlockingBridge.Wait(RotateRootKeyAsync);

    /// <summary>As <see cref="RotateRootKey"/>, without blocking a thread on the CMEK calls.</summary>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old root still opens it.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled before the registry was written.</exception>
    public Task RotateRootKeyAsync(CancellationToken ct = default) => _store.Telemetry.TraceRotationAsync("root key", "store", () => WithOperationAsync(
        () =>
        {
            // Read before entering the gate (lock-free anyway: the monitor locks while the gate drains).
            ICmekProvider cmek = _store.CurrentCmek;
            return _store.RunAsync(s => s.Registry.RotateRootKekAsync(cmek, ct));
        },
        ct));

    /// <summary>
    /// Starts a KEK rotation of namespace <paramref name="ns"/>: a new KEK version is durable and used by
    /// every new file when this returns; a background task then re-wraps the DEK in the header of each
    /// existing file (no data is rewritten; throttled by <see cref="RotationFilesPerSecond"/>) and
    /// deletes the older versions from the registry once no live file refers to them. The store keeps
    /// serving meanwhile; after a crash or close the next open resumes the re-wrap. No CMEK call.
    /// </summary>
    /// <returns>The rotation; await <see cref="KekRotation.Completion"/> to wait for the retirement.</returns>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public KekRotation RotateNamespaceKey(string ns)
    {
        EncryptedStore.ValidateNamespaceName(ns);
        if (!_store.TryGetNamespace(ns, out StoreNamespace? target))
        {
            throw new ArgumentException($"The store has no namespace '{ns}'.", nameof(ns));
        }

        return StartKekRotation(KeyScope.ForNamespace(target.Info.Id), ns);
    }

    /// <summary>
    /// As <see cref="RotateNamespaceKey"/> for the system KEK (WAL, MANIFEST, OPTIONS, info LOG, ...).
    /// </summary>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public KekRotation RotateSystemKey() => StartKekRotation(KeyScope.System, "system");

    /// <summary>
    /// Completes when no scope has a KEK rotation in progress (including ones resumed at open). On a
    /// read-only store it completes at once: no rotation runs there (an unfinished one resumes at the
    /// next writable open; <see cref="Status"/> shows it).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The store was closed first.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public Task WaitForRotationsAsync(CancellationToken ct = default) => _worker.WhenDone(null).WaitAsync(ct);

    /// <summary>
    /// DEK rotation: rewrites the data of namespace <paramref name="ns"/> (or of every namespace) so that
    /// every live SST file is new and has a fresh DEK: the memtable is flushed, then a manual compaction
    /// with the bottommost level forced rewrites every file that existed when the call began (throttled
    /// by <see cref="DataKeyRotationOptions.BytesPerSecond"/>). Runs on the calling thread while the
    /// store serves traffic. The system files (MANIFEST, OPTIONS, info LOG) are not rewritten; the
    /// flush makes older WAL files obsolete.
    /// </summary>
    /// <returns>Per namespace, the final share of live bytes under DEKs issued since the call began.</returns>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled (files rewritten so far stay).</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    public IReadOnlyList<DataKeyRotationProgress> RotateDataKeys(string? ns = null, DataKeyRotationOptions? options = null, CancellationToken ct = default)
    {
        _store.ThrowIfReadOnly("DEK rotation");
        IReadOnlyList<StoreNamespace> targets;
        if (ns is null)
        {
            targets = _store.SnapshotNamespaces();
        }
        else
        {
            EncryptedStore.ValidateNamespaceName(ns);
            targets = _store.TryGetNamespace(ns, out StoreNamespace? one) ? [one] : throw new ArgumentException($"The store has no namespace '{ns}'.", nameof(ns));
        }

        options ??= new DataKeyRotationOptions();
        return [.. targets.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => _store.Telemetry.TraceRotation("data key", t.Name, () => DataKeyRotator.Rotate(_store, t, options, ct)))];
    }

    /// <summary>
    /// Per scope (system, then each namespace): the KEK versions the registry holds, the current one,
    /// and the share of live files and bytes under each version, read from the header of every file.
    /// </summary>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    public KeyStatusReport Status() => _store.Run(s => KeyStatusReader.Read(s, _store.Layout));

    /// <summary>
    /// The crypto-shred behind <see cref="EncryptedStore.DeleteNamespace"/>: with the other key
    /// operations held off, detaches the namespace from the store and destroys it (marker, column
    /// family, every KEK version in both registry generations, directory).
    /// </summary>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">A step failed; the next open finishes the deletion.</exception>
    internal void ShredNamespace(string name) => WithOperation(() => _store.Run(session =>
    {
        NamespaceInfo ns = _store.DetachNamespace(name);
        NamespaceShredder.Shred(session, _store.Layout, ns);
    }));

    /// <summary>Store-open hook: finishes interrupted namespace deletions, starts (and so resumes) the re-wrap worker.</summary>
    internal void Start()
    {
        if (_store.IsReadOnly)
        {
            return; // a read-only open writes nothing: interrupted deletions and rotations resume at the next writable open
        }
        try
        {
            (IReadOnlyList<uint> pending, IReadOnlyList<uint> legacy, IReadOnlyList<string> ignored) = _store.Run(s =>
            {
                (IReadOnlyList<uint> finish, IReadOnlyList<string> notes) = NamespaceShredder.ReviewMarkerFiles(s, _store.Layout);
                return (NamespaceShredder.Pending(s), finish, notes);
            });
            foreach (string note in ignored)
            {
                _store.AddOpenNote(note);
            }

            foreach (uint id in pending.Union(legacy).Order())
            {
                _store.DetachNamespaces(id);
                _store.Run(s => NamespaceShredder.Complete(s, _store.Layout, id));
            }
        }
        catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException)
        {
            Volatile.Write(ref _recoveryProblem, $"finishing an interrupted namespace deletion failed (retried at the next open): {e.Message}");
        }

        _worker.Start();
    }

    /// <summary>Store-close hook, after the CMEK checks stopped and before the gate closes: stops the
    /// worker (it resumes at the next open).</summary>
    internal void Stop() => _worker.Dispose();

    private async Task RotateCmekCoreAsync(ICmekProvider cmek, bool owned, CancellationToken ct)
    {
        _store.ThrowIfReadOnly("CMEK rotation");
        try
        {
            await _store.Telemetry.TraceRotationAsync("CMEK", "store", () => WithOperationAsync(() => _store.RunAsync(s => s.Registry.RotateCmekAsync(cmek, ct)), ct)).ConfigureAwait(false);
        }
        catch
        {
            if (owned)
            {
                cmek.Dispose();
            }
            throw;
        }

        // The old provider may be in use by a CMEK check right now: the lock state machine disposes it at close.
        _store.ReplaceCmek(cmek, owned);
    }

    private KekRotation StartKekRotation(KeyScope scope, string name)
    {
        _store.ThrowIfReadOnly("Key rotation");
        uint version = _store.Telemetry.TraceRotation("KEK", name, () =>
        {
            uint created = 0;
            WithOperation(() => created = _store.Run(s => s.Registry.RotateKek(scope)));
            return created;
        });
        Task retired = _worker.WhenDone(scope);
        _store.Telemetry.TraceKekRetirement(name, retired);
        return new KekRotation(name, version, retired);
    }

    private void WithOperation(Action operation)
    {
        _operations.Wait();
        try
        {
            operation();
        }
        finally
        {
            _operations.Release();
        }
    }

    private async Task WithOperationAsync(Func<Task> operation, CancellationToken ct)
    {
        _store.ThrowIfReadOnly("Key rotation");
        await _operations.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await operation().ConfigureAwait(false);
        }
        finally
        {
            _operations.Release();
        }
    }
}
