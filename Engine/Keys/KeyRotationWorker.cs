using System.Diagnostics;
using Engine.Crypto;
using Engine.Files;

namespace Engine;

/// <summary>
/// The background half of a KEK rotation. The registry is its only record: a scope whose chain holds
/// versions besides the current one has a rotation in progress. For each such scope the worker
/// re-wraps the header of every live file still under an older version (throttled, in the store's
/// gate one file at a time, so traffic, locks and RocksDB's own file deletions go on), then checks
/// that no live file refers to an older version and retires those versions. Because it only looks at
/// the registry and the files, it resumes after a crash exactly where the files are.
/// </summary>
/// <remarks>
/// Retirement is safe against files being created concurrently: after a rotation is published the
/// worker waits until every key call that started earlier has returned
/// (<see cref="FileKeyService.WaitForIssuedKeys"/>) and every file creation that started earlier has
/// written its header (<see cref="StoreFiles.WaitForFileCreations"/>; the plugin holds a creation
/// from its key request until its header is written), and only then takes the final inventory.
/// <see cref="SettleDelay"/> only paces rounds; correctness does not depend on it.
/// </remarks>
internal sealed class KeyRotationWorker : IDisposable
{
    private readonly EncryptedStore _store;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _sync = new();
    private readonly List<(KeyScope? Scope, TaskCompletionSource Done)> _waiters = [];
    // Files whose new wrap is in force but whose other slot may still hold the old one: the scrub
    // write after the re-wrap failed (a lock between the two writes). The final inventory reads only
    // the slot in force, so these are kept here and scrubbed before the scope may retire.
    private readonly HashSet<string> _scrubPending = new(StringComparer.Ordinal);
    private Task? _loop;
    private long _filesRewrapped;
    private string? _lastProblem;

    public KeyRotationWorker(EncryptedStore store) => _store = store;

    /// <summary>Re-wraps per second at most; 0 or less = unthrottled.</summary>
    public double FilesPerSecond { get; set; } = 200;

    /// <summary>
    /// A pause before the final inventory, so that a burst of file creations right after a rotation
    /// is re-wrapped in the same round rather than the next (pacing only: the inventory is complete
    /// without it, see the remarks).
    /// </summary>
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long to wait before retrying a scope that had unreadable files or errors.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Test hook: called with the file's path between its re-wrap and the scrub of its other slot.</summary>
    internal Action<string>? BeforeScrub { get; set; }

    /// <summary>Write the other slot too, so that no slot keeps the wrap under a retired version.</summary>
    public bool ScrubOldSlot { get; set; } = true;

    public long FilesRewrapped => Interlocked.Read(ref _filesRewrapped);

    /// <summary>The last reason a scope could not be finished (for status and logs), or null.</summary>
    public string? LastProblem => Volatile.Read(ref _lastProblem);

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>Asks the worker to look at the registry again (after a rotation, or an unlock).</summary>
    public void Kick() => _wake.Release();

    /// <summary>Completes when <paramref name="scope"/> (or, for null, every scope) has no retirable version.</summary>
    public Task WhenDone(KeyScope? scope)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            if (_stop.IsCancellationRequested)
            {
                done.SetException(new ObjectDisposedException(nameof(EncryptedStore), "the store was closed before the key rotation finished; it resumes at the next open"));
                return done.Task;
            }

            if (_store.IsReadOnly)
            {
                // No re-wrap runs on a read-only store (Start never starts the loop): waiting would last
                // until the store closes. An unfinished rotation resumes at the next writable open.
                done.SetResult();
                return done.Task;
            }

            _waiters.Add((scope, done));
        }

        Kick();
        return done.Task;
    }

    /// <summary>Stops the loop (the current file finishes) and fails the waiters. Idempotent.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
        }

        try
        {
            _loop?.Wait();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
        {
        }

        lock (_sync)
        {
            foreach ((_, TaskCompletionSource done) in _waiters)
            {
                done.TrySetException(new ObjectDisposedException(nameof(EncryptedStore), "the store was closed before the key rotation finished; it resumes at the next open"));
            }

            _waiters.Clear();
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TimeSpan? wait;
            try
            {
                wait = await RunOnceAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // the store closed under us; the next open resumes
            }
            catch (StoreLockedException)
            {
                wait = TimeSpan.FromMilliseconds(500); // keys are gone while locked; retry after the unlock
            }
            catch (EngineException e)
            {
                Volatile.Write(ref _lastProblem, e.Message);
                wait = RetryDelay;
            }

            try
            {
                if (wait is TimeSpan delay)
                {
                    await _wake.WaitAsync(delay, ct).ConfigureAwait(false);
                }
                else
                {
                    await _wake.WaitAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round over every scope with a rotation in progress.</summary>
    /// <returns>null when nothing is left to do (sleep until kicked), else how long to wait.</returns>
    private async Task<TimeSpan?> RunOnceAsync(CancellationToken ct)
    {
        List<KekChainInfo> pending = _store.Run(s => s.Registry.Chains.Where(c => c.HasRetirableVersions).ToList());
        bool blocked = false;
        foreach (KekChainInfo chain in pending)
        {
            ct.ThrowIfCancellationRequested();
            blocked |= !await FinishScopeAsync(chain, ct).ConfigureAwait(false);
        }

        CompleteWaiters();
        return blocked ? RetryDelay : pending.Count > 0 ? TimeSpan.Zero : null;
    }

    /// <summary>Re-wraps the scope's files and retires its old versions.</summary>
    /// <returns>False when unreadable files or errors prevent retirement for now.</returns>
    private async Task<bool> FinishScopeAsync(KekChainInfo chain, CancellationToken ct)
    {
        KeyScope scope = chain.Scope;
        if (!_store.Run(s => s.FileKeys.WaitForIssuedKeys(TimeSpan.FromSeconds(30))))
        {
            Volatile.Write(ref _lastProblem, $"{scope}: key calls from before the rotation did not finish within 30 s");
            return false;
        }

        // A key call that returned may not have its header on disk yet: wait for the plugin's file
        // creations too (they never wait on the gate, so holding it here cannot deadlock).
        if (!WithFiles(f => f.WaitForFileCreations(TimeSpan.FromSeconds(30))))
        {
            Volatile.Write(ref _lastProblem, $"{scope}: file creations from before the rotation did not finish within 30 s");
            return false;
        }

        var throttle = Stopwatch.StartNew();
        long done = 0;
        int problems = 0;
        _scrubPending.RemoveWhere(path => !WithFiles(f => f.Exists(path)));
        List<string> scopeFiles = [.. ScopeFiles(scope)];
        foreach (string file in scopeFiles.Where(_scrubPending.Contains).ToList())
        {
            ct.ThrowIfCancellationRequested();
            WithFiles(f => f.Rewrap(file)); // StoreLockedException: still pending, retried after the unlock
            _scrubPending.Remove(file);
        }

        foreach (string file in scopeFiles)
        {
            ct.ThrowIfCancellationRequested();
            if (!NeedsRewrap(file, chain, ref problems))
            {
                continue;
            }

            if (FilesPerSecond > 0)
            {
                TimeSpan due = TimeSpan.FromSeconds(done / FilesPerSecond) - throttle.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, ct).ConfigureAwait(false);
                }
            }

            done++;
            try
            {
                if (WithFiles(f => f.Rewrap(file)) == RewrapState.Rewrapped)
                {
                    Interlocked.Increment(ref _filesRewrapped);
                    if (ScrubOldSlot)
                    {
                        _scrubPending.Add(file);
                        BeforeScrub?.Invoke(file);
                        WithFiles(f => f.Rewrap(file));
                        _scrubPending.Remove(file);
                    }
                }
            }
            catch (EngineException e) when (e is not StoreLockedException)
            {
                if (WithFiles(f => f.Exists(file)))
                {
                    problems++;
                    Volatile.Write(ref _lastProblem, $"{scope}: cannot re-wrap {file}: {e.Message}");
                }
            }
        }

        // Final inventory: every key call and file creation from before the rotation has finished, so
        // no live file may name an older version.
        await Task.Delay(SettleDelay, ct).ConfigureAwait(false);
        int remaining = 0;
        foreach (string file in ScopeFiles(scope))
        {
            ct.ThrowIfCancellationRequested();
            if (NeedsRewrap(file, chain, ref problems))
            {
                remaining++;
            }
        }

        remaining += scopeFiles.Count(_scrubPending.Contains);
        if (problems > 0 || remaining > 0)
        {
            return problems == 0; // files to re-wrap: go round again at once; problems: retry later
        }

        return _store.Run(s =>
        {
            KekChainInfo? now = s.Registry.GetChain(scope);
            if (now is null || now.Current != chain.Current)
            {
                return true; // deleted, or rotated again meanwhile: the next round handles it
            }

            s.Registry.RetireKekVersions(scope, chain.OldVersions);
            return true;
        });
    }

    /// <summary>True when the file exists, belongs to the scope and is wrapped under an older version.</summary>
    private bool NeedsRewrap(string file, KekChainInfo chain, ref int problems)
    {
        string? problem = null;
        FileHeaderInfo info = default;
        HeaderState state = WithFiles(f => f.ReadHeader(file, out info, out problem));
        switch (state)
        {
            case HeaderState.Ok when info.Scope == chain.Scope:
                return info.KekVersion != chain.Current;
            case HeaderState.Ok:
                problems++;
                Volatile.Write(ref _lastProblem, $"{file} names scope {info.Scope} but lies in {chain.Scope}");
                return false;
            case HeaderState.Unreadable when WithFiles(f => f.Exists(file)):
                problems++;
                Volatile.Write(ref _lastProblem, $"{file}: {problem}");
                return false;
            default:
                return false; // vanished, or 0 bytes (no key at all)
        }
    }

    private IReadOnlyList<string> ScopeFiles(KeyScope scope) => WithFiles(f => f.ScopeFiles(_store.Layout, scope));

    /// <summary>One step inside the store's gate (so locks and closes wait for it, and it sees the live session).</summary>
    private T WithFiles<T>(Func<StoreFiles, T> step) => _store.Run(s =>
    {
        using StoreFiles files = StoreFiles.Open(s);
        return step(files);
    });

    private void CompleteWaiters()
    {
        IReadOnlyList<KekChainInfo> chains = _store.Run(s => s.Registry.Chains);
        lock (_sync)
        {
            _waiters.RemoveAll(w =>
            {
                bool finished = w.Scope is KeyScope scope
                    ? chains.FirstOrDefault(c => c.Scope == scope) is not { HasRetirableVersions: true }
                    : !chains.Any(c => c.HasRetirableVersions);
                if (finished)
                {
                    w.Done.TrySetResult();
                }

                return finished;
            });
        }
    }
}
