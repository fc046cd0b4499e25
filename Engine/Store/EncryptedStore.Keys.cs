using Engine.Crypto;

namespace Engine;

/// <summary>Key lifecycle: rotation at every level, status, crypto-shred (docs/key-rotation.md).</summary>
public sealed partial class EncryptedStore
{
    // Serializes the operations that change the key hierarchy (the worker's retirements excepted:
    // the registry serializes its own writes).
    private readonly SemaphoreSlim _keyOperations = new(1, 1);
    private KeyRotationWorker? _keyWorker;
    private string? _keyRecoveryProblem;

    internal StoreLayout Layout => _layout;

    internal KeyRotationWorker KeyWorker => _keyWorker ?? throw new ObjectDisposedException(nameof(EncryptedStore));

    /// <summary>
    /// Upper bound on header re-wraps per second of the background KEK rotation (default 200; 0 or
    /// less = unthrottled). Each re-wrap writes and syncs 512 bytes per header slot, never data.
    /// </summary>
    public double KeyRotationFilesPerSecond
    {
        get => KeyWorker.FilesPerSecond;
        set => KeyWorker.FilesPerSecond = value;
    }

    /// <summary>Why the last key rotation or deletion could not finish yet (it is retried), or null.</summary>
    public string? KeyRotationProblem => _keyRecoveryProblem ?? _keyWorker?.LastProblem;

    /// <summary>
    /// Re-wraps the root key under the CMEK at <paramref name="newCmekUri"/>, atomically, and uses that
    /// CMEK from now on (the store records the URI: later opens need no option). Data and file headers
    /// are not touched. Afterwards no registry generation on disk needs the old CMEK, so the operator
    /// may disable or destroy it, which also makes copies of the store taken before unreadable.
    /// </summary>
    /// <param name="newCmekUri">A CMEK URI (<c>file:</c> or <c>aws-kms:</c>); the same URI re-wraps under
    /// the key's newest material (a KMS key rotated by AWS).</param>
    /// <exception cref="ArgumentException">The URI is malformed.</exception>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap, or cannot unwrap its own
    /// wrap (checked before anything is written); the store keeps the old one.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old CMEK still opens it.</exception>
    public void RotateCmek(string newCmekUri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(newCmekUri);
        RotateCmekCore(CmekProviders.Open(newCmekUri), owned: true);
    }

    /// <summary>
    /// As <see cref="RotateCmek(string)"/> with a provider the caller owns (the store never disposes
    /// it, and uses it until closed or rotated again).
    /// </summary>
    /// <exception cref="KeyUnavailableException">The new CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written.</exception>
    public void RotateCmek(ICmekProvider newCmek)
    {
        ArgumentNullException.ThrowIfNull(newCmek);
        RotateCmekCore(newCmek, owned: false);
    }

    /// <summary>
    /// Replaces the root key with a new one (wrapped by the CMEK) and re-seals every system and
    /// namespace KEK under it, atomically; the old root key is zeroed and kept in no registry file.
    /// One CMEK wrap and one unwrap; no file of the database is touched.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK cannot wrap or unwrap; nothing changed.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; the old root still opens it.</exception>
    public void RotateRootKey()
    {
        WithKeyOperation(() =>
        {
            // Read before entering the gate (lock-free anyway: the monitor locks while the gate drains).
            ICmekProvider cmek = CurrentCmek;
            Run(s => s.Registry.RotateRootKekAsync(cmek).GetAwaiter().GetResult());
        });
    }

    /// <summary>
    /// Starts a KEK rotation of namespace <paramref name="ns"/>: a new KEK version is durable and used by
    /// every new file when this returns; a background task then re-wraps the DEK in the header of each
    /// existing file (no data is rewritten; throttled by <see cref="KeyRotationFilesPerSecond"/>) and
    /// deletes the older versions from the registry once no live file refers to them. The store keeps
    /// serving meanwhile; after a crash or close the next open resumes the re-wrap.
    /// </summary>
    /// <returns>The rotation; await <see cref="KekRotation.Completion"/> to wait for the retirement.</returns>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public KekRotation RotateNamespaceKey(string ns)
    {
        ValidateNamespaceName(ns);
        if (!TryGetNamespace(ns, out StoreNamespace? target))
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

    /// <summary>Completes when no scope has a KEK rotation in progress (including ones resumed at open).</summary>
    /// <exception cref="ObjectDisposedException">The store was closed first.</exception>
    public Task WaitForKeyRotationsAsync(CancellationToken ct = default) => KeyWorker.WhenDone(null).WaitAsync(ct);

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
        StoreNamespace[] targets;
        if (ns is null)
        {
            targets = SnapshotNamespaces();
        }
        else
        {
            ValidateNamespaceName(ns);
            targets = TryGetNamespace(ns, out StoreNamespace? one) ? [one] : throw new ArgumentException($"The store has no namespace '{ns}'.", nameof(ns));
        }

        options ??= new DataKeyRotationOptions();
        return [.. targets.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => DataKeyRotator.Rotate(this, t, options, ct))];
    }

    /// <summary>
    /// Per scope (system, then each namespace): the KEK versions the registry holds, the current one,
    /// and the share of live files and bytes under each version, read from the header of every file.
    /// </summary>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    public KeyStatusReport KeyStatus() => Run(s => KeyStatusReader.Read(s, _layout));

    /// <summary>
    /// Deletes namespace <paramref name="name"/> and crypto-shreds it: its column family is dropped, every
    /// version of its KEK is destroyed in both registry generations on disk and zeroed in memory, and its
    /// directory is deleted. Its files, and any copy of them, can no longer be decrypted by this store
    /// or with any later registry. Crash-safe: an interrupted deletion is finished at the next open.
    /// </summary>
    /// <remarks>A copy of the whole store directory taken before (or a backup of its KEYRING file)
    /// still holds the KEK under the root key wrapped by the CMEK: it stays readable for whoever can use
    /// that CMEK until the CMEK is rotated (<see cref="RotateCmek(string)"/>) and the old key destroyed.
    /// See docs/key-rotation.md.</remarks>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">A step failed; the next open finishes the deletion.</exception>
    public void DeleteNamespace(string name)
    {
        ValidateNamespaceName(name);
        WithKeyOperation(() => Run(session =>
        {
            StoreNamespace? ns;
            lock (_namespaceSync)
            {
                if (!_namespaces.Remove(name, out ns))
                {
                    throw new ArgumentException($"The store has no namespace '{name}'.", nameof(name));
                }
                ns.Removed = true;
            }

            NamespaceShredder.Shred(session, _layout, ns.Info);
        }));
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

    private ICmekProvider CurrentCmek => _monitor.Cmek;

    private void RotateCmekCore(ICmekProvider cmek, bool owned)
    {
        try
        {
            WithKeyOperation(() => Run(s => s.Registry.RotateCmekAsync(cmek).GetAwaiter().GetResult()));
        }
        catch
        {
            if (owned)
            {
                cmek.Dispose();
            }
            throw;
        }

        // The old provider may be in use by a CMEK check right now: the monitor disposes it with the store.
        _monitor.ReplaceCmek(cmek, owned);
    }

    private KekRotation StartKekRotation(KeyScope scope, string name)
    {
        uint version = 0;
        WithKeyOperation(() => version = Run(s => s.Registry.RotateKek(scope)));
        return new KekRotation(name, version, KeyWorker.WhenDone(scope));
    }

    private void WithKeyOperation(Action operation)
    {
        _keyOperations.Wait();
        try
        {
            operation();
        }
        finally
        {
            _keyOperations.Release();
        }
    }

    /// <summary>Constructor hook: finishes interrupted namespace deletions, starts (and so resumes) the re-wrap worker.</summary>
    private void StartKeyWork()
    {
        _keyWorker = new KeyRotationWorker(this);
        try
        {
            IReadOnlyList<uint> pending = NamespaceShredder.Pending(_layout);
            foreach (uint id in pending)
            {
                lock (_namespaceSync)
                {
                    foreach (string name in _namespaces.Where(p => p.Value.Info.Id == id).Select(p => p.Key).ToList())
                    {
                        _namespaces.Remove(name, out StoreNamespace? removed);
                        removed!.Removed = true;
                    }
                }

                Run(s => NamespaceShredder.Complete(s, _layout, id));
            }
        }
        catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException)
        {
            _keyRecoveryProblem = $"finishing an interrupted namespace deletion failed (retried at the next open): {e.Message}";
        }

        _keyWorker.Start();
    }

    /// <summary>Dispose hook, before the gate closes: stops the worker (it resumes at the next open).</summary>
    private void StopKeyWork()
    {
        _keyWorker?.Dispose();
    }
}
