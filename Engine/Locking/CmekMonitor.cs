using System.Diagnostics;
using Engine.Crypto;
using Engine.Diagnostics;

namespace Engine.Locking;

/// <summary>
/// The store's lock state machine and the one owner of its CMEK provider:
/// <c>Open → Degraded → Locked → (key restored) → Open</c>, plus <c>Closed</c>. A monitor thread asks
/// the CMEK every check interval; a revoked key locks the store, an unreachable one degrades it, and a
/// store that has had no successful check for the key cache TTL locks, whether the checks fail or hang.
/// </summary>
/// <remarks>
/// Threads: the monitor thread (<see cref="RunChecks"/>) schedules checks, watches them against their
/// deadlines and applies their answers. Each check runs on a <see cref="CmekProbe"/> thread of its own,
/// because providers may block synchronously (a key file on a hung mount) or need the thread pool (an
/// SDK); the monitor thread itself never calls the CMEK, never uses the thread pool and only waits on
/// <see cref="_wake"/> with a deadline, so neither a hung check nor a starved pool can move a deadline.
/// A probe past its timeout is abandoned (it is a background thread and, when it returns, only disposes
/// what it produced); at most <see cref="MaxHungChecks"/> are left hanging before checks count as failed
/// without starting another thread.
/// <para>Why this is safe:</para>
/// <list type="bullet">
/// <item>One lock, <see cref="_sync"/>, orders every transition (lock, unlock, degrade, close), the CMEK
/// provider swaps and the check bookkeeping. <see cref="_state"/> is volatile, so readers of
/// <see cref="State"/> take no lock.</item>
/// <item>No deadlock with calls in flight: a lock holds <see cref="_sync"/> while the store's gate drains,
/// so nothing inside the gate may wait for <see cref="_sync"/>. Inside the gate the store only reads
/// <see cref="State"/>, <see cref="LockReason"/> and <see cref="Cmek"/>, which are lock-free; the CMEK
/// swap of a rotation (<see cref="ReplaceCmek"/>) takes the lock after its call has left the gate.</item>
/// <item>Nothing that waits on the CMEK holds <see cref="_sync"/>: probes run without it, and an unlock
/// unwraps the registry first (on the probe's thread, or on the caller's for <see cref="Unlock"/>) and
/// takes the lock only to open RocksDB and publish. So <see cref="BeginClose"/> waits at most for a
/// transition on local files, never for the CMEK.</item>
/// <item>No stale answer acts: <see cref="_generation"/> grows with every lock, unlock, CMEK swap and the
/// close; a probe carries the generation it started in, and its answer is dropped (its unwrapped
/// registry disposed) when the generation moved. A revocation answer about a replaced CMEK cannot lock
/// the store, and a healthy answer from before a lock cannot unlock it.</item>
/// <item>After <see cref="BeginClose"/> nothing changes the store: transitions check
/// <see cref="_closing"/> under <see cref="_sync"/>, and the monitor thread has exited.</item>
/// </list>
/// </remarks>
internal sealed class CmekMonitor : IDisposable
{
    /// <summary>Abandoned checks still hanging before a due check fails without starting another thread.</summary>
    internal const int MaxHungChecks = 4;

    private readonly object _owner;
    private readonly ILockableStore _store;
    private readonly string _storeRoot;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _keyCacheTtl;
    private readonly TimeSpan _checkTimeout;
    private readonly bool _autoUnlock;
    private readonly Lock _sync = new();
    private readonly ManualResetEventSlim _wake = new(initialState: false);
    private readonly StoreTelemetry? _telemetry;
    private readonly List<ICmekProvider> _replacedCmeks = [];
    private readonly List<CmekProbe> _abandoned = []; // monitor thread only

    private volatile StoreState _state = StoreState.Open;
    private volatile string? _lockReason;
    private volatile ICmekProvider _cmek;
    private volatile string _cmekUri;
    private bool _ownsCmek;
    private bool _cmekDropped; // the owned provider was disposed by a lock (a fresh one comes with the unlock)
    private long _generation;
    private long _lastHealthy; // Stopwatch timestamp of the last successful check (or open, or unlock)
    private DateTimeOffset _lastHealthyTime;
    private int _consecutiveTransientFailures;
    private string? _lastTransientReason;
    private bool _closing;
    private StoreState _stateAtClose;
    private volatile bool _stopping;
    private volatile bool _checkRequested;
    private List<TaskCompletionSource> _checkWaiters = [];
    private long _checks;
    private Thread? _thread;

    /// <param name="owner">The store: the sender of <see cref="StateChanged"/> and named by <see cref="ObjectDisposedException"/>.</param>
    /// <param name="store">What a lock closes and an unlock reopens.</param>
    /// <param name="storeRoot">The store directory (its key registry).</param>
    /// <param name="options">The store's options, frozen at open.</param>
    /// <param name="cmek">The provider the store was opened with.</param>
    /// <param name="ownsCmek">The store opened <paramref name="cmek"/> and disposes it (also at every lock).</param>
    /// <param name="cmekUri">The CMEK's URI, to open a fresh provider after a lock.</param>
    /// <param name="telemetry">Where checks are counted, timed and logged (state changes go through <see cref="StateChanged"/>); null for none.</param>
    public CmekMonitor(object owner, ILockableStore store, string storeRoot, StoreOptions options, ICmekProvider cmek, bool ownsCmek, string cmekUri, StoreTelemetry? telemetry = null)
    {
        _telemetry = telemetry;
        _owner = owner;
        _store = store;
        _storeRoot = storeRoot;
        _interval = options.CmekCheckInterval;
        _keyCacheTtl = options.KeyCacheTtl;
        _checkTimeout = options.CmekCheckTimeout;
        _autoUnlock = options.AutoUnlock;
        _cmek = cmek;
        _ownsCmek = ownsCmek;
        _cmekUri = cmekUri;
        MarkHealthy();
    }

    /// <summary>Raised after every transition, on the thread that made it, with the monitor's lock held.</summary>
    public event EventHandler<StoreStateChange>? StateChanged;

    /// <summary>Where the store is in its lock state machine (a volatile read: no lock, usable inside the gate).</summary>
    public StoreState State => _state;

    /// <summary>Why the store locked, while it is locked; otherwise null.</summary>
    public string? LockReason => _state == StoreState.Locked ? _lockReason : null;

    /// <summary>Checks started since open, requested ones included (a check that could not start counts too).</summary>
    public long CheckCount => Interlocked.Read(ref _checks);

    /// <summary>The current provider (disposed while the store is locked, when the store owns it). Lock-free.</summary>
    public ICmekProvider Cmek => _cmek;

    /// <summary>The URI of the current CMEK: the one the registry recorded, or the one a rotation moved to.</summary>
    public string CmekUri => _cmekUri;

    /// <summary>When the last successful check (or the open, or an unlock) happened: the key cache TTL counts from here.</summary>
    public DateTimeOffset LastHealthyCheck
    {
        get
        {
            lock (_sync)
            {
                return _lastHealthyTime;
            }
        }
    }

    /// <summary>The last unexpected error the monitor thread survived (diagnostics and tests), or null.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Starts the monitor thread (the store's telemetry publishes <see cref="State"/> and <see cref="CheckCount"/>).</summary>
    public void Start()
    {
        // A background thread: an application that forgets Dispose must still be able to exit.
        _thread = new Thread(RunChecks) { IsBackground = true, Name = "CMEK monitor" };
        _thread.Start();
    }

    /// <summary>Locks the store now (a revocation, the TTL, or a test). Does nothing when locked or closing.</summary>
    public void Lock(string reason)
    {
        lock (_sync)
        {
            LockCore(reason);
        }
    }

    /// <summary>
    /// Reopens a locked store: unwraps the root key on the calling thread (as long as the CMEK takes),
    /// then reopens RocksDB. Does nothing when the store is not locked.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK is still unavailable; the store stays locked.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public void Unlock(string reason)
    {
        ICmekProvider? provider;
        string uri;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_closing, _owner);
            if (_state != StoreState.Locked)
            {
                return;
            }
            provider = _ownsCmek ? null : _cmek;
            uri = _cmekUri;
        }

        UnlockMaterial unlock = UnlockMaterial.Open(provider, uri, _storeRoot);
        lock (_sync)
        {
            if (_closing || _state != StoreState.Locked)
            {
                unlock.Dispose();
                ObjectDisposedException.ThrowIf(_closing, _owner);
                return; // unlocked meanwhile by a check
            }
            ReopenCore(unlock, reason);
        }
    }

    /// <summary>
    /// Runs one check now on the monitor thread, as the schedule would, and completes once its answer
    /// has been applied (or the store closed).
    /// </summary>
    public Task CheckNowAsync(CancellationToken ct)
    {
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            if (_closing)
            {
                return Task.CompletedTask;
            }
            _checkWaiters.Add(applied);
            _checkRequested = true;
        }
        _wake.Set();
        return applied.Task.WaitAsync(ct);
    }

    /// <summary>
    /// Uses <paramref name="cmek"/> from now on (a CMEK rotation, after the registry was re-wrapped).
    /// The old provider may be in a check right now: one the store owns is disposed at close.
    /// </summary>
    public void ReplaceCmek(ICmekProvider cmek, bool owned)
    {
        lock (_sync)
        {
            if (_closing)
            {
                if (owned)
                {
                    cmek.Dispose();
                }
                return;
            }
            if (_ownsCmek && !_cmekDropped)
            {
                _replacedCmeks.Add(_cmek);
            }
            _cmek = cmek;
            _ownsCmek = owned;
            _cmekDropped = false;
            _cmekUri = cmek.Uri;
            _generation++;
        }
    }

    /// <summary>
    /// First half of the store's Dispose: refuses every later transition and stops the monitor thread
    /// (waiting for a transition in progress, never for a check). Returns false when already closing.
    /// </summary>
    public bool BeginClose()
    {
        lock (_sync)
        {
            if (_closing)
            {
                return false;
            }
            _closing = true;
            _stateAtClose = _state;
            _generation++;
        }
        _stopping = true;
        _wake.Set();
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join(); // a StateChanged handler that disposes the store runs on this thread
        }
        return true;
    }

    /// <summary>
    /// Second half of the store's Dispose, after the store closed its session: drops the providers,
    /// reports Closed. Runs <see cref="BeginClose"/> first if nobody did.
    /// </summary>
    public void Dispose()
    {
        BeginClose();
        lock (_sync)
        {
            DropCmek();
            foreach (ICmekProvider replaced in _replacedCmeks)
            {
                replaced.Dispose();
            }
            _replacedCmeks.Clear();
            SetState(StoreState.Closed, "disposed", _stateAtClose);
            ReleaseCheckWaiters(TakeCheckWaiters());
        }
        // A probe that answered just before the close may still Set this: harmless on a disposed
        // ManualResetEventSlim (no kernel handle is ever created: nobody asks for its WaitHandle).
        _wake.Dispose();
    }

    private void RunChecks()
    {
        long nextCheck = Deadline(Stopwatch.GetTimestamp(), _interval);
        while (!_stopping)
        {
            TimeSpan delay = _interval;
            try
            {
                if (!WaitForNextCheck(nextCheck))
                {
                    break;
                }
                delay = CheckOnce();
            }
#pragma warning disable CA1031 // this thread has no caller: an exception would end the process
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // A lock whose cleanup failed (the store is locked regardless) or an unlock whose
                // reopen failed unexpectedly (it stays locked): keep checking. A handler that disposed
                // the store from this thread: stop.
                LastError = ex;
            }
            nextCheck = Deadline(Stopwatch.GetTimestamp(), delay);
        }
        lock (_sync)
        {
            ReleaseCheckWaiters(TakeCheckWaiters());
        }
    }

    /// <summary>Waits until a check is due or requested; meanwhile a degraded store locks when its TTL runs out. False when stopping.</summary>
    private bool WaitForNextCheck(long nextCheck)
    {
        while (true)
        {
            _wake.Reset(); // before reading the conditions: a Set after this wakes the Wait below
            if (_stopping)
            {
                return false;
            }
            long now = Stopwatch.GetTimestamp();
            if (_checkRequested || now >= nextCheck)
            {
                return true;
            }
            long wakeAt = nextCheck;
            if (_state == StoreState.Degraded)
            {
                long lockAt = TtlDeadline();
                if (now >= lockAt)
                {
                    LockAtTtl("last error: " + (_lastTransientReason ?? "none recorded"));
                    continue;
                }
                wakeAt = Math.Min(wakeAt, lockAt);
            }
            _wake.Wait(Until(wakeAt, now));
        }
    }

    /// <summary>One check: starts a probe, watches it, applies its answer. Returns how long to wait for the next one.</summary>
    private TimeSpan CheckOnce()
    {
        Interlocked.Increment(ref _checks);
        CmekProbePlan plan;
        List<TaskCompletionSource> waiters;
        lock (_sync)
        {
            waiters = TakeCheckWaiters();
            if (_closing)
            {
                ReleaseCheckWaiters(waiters);
                return _interval;
            }
            bool locked = _state == StoreState.Locked;
            plan = new CmekProbePlan(
                _generation,
                locked && _ownsCmek ? null : _cmek, // ours was dropped with the keys: probe with a fresh one
                _cmekUri,
                _storeRoot,
                UnwrapForUnlock: locked && _autoUnlock,
                _checkTimeout);
        }

        TimeSpan delay = _interval;
        try
        {
            _abandoned.RemoveAll(p => p.HasReturned);
            long started = Stopwatch.GetTimestamp();
            CmekCheckResult? result = _abandoned.Count >= MaxHungChecks
                ? CmekCheckResult.Transient($"{_abandoned.Count} earlier CMEK checks have not returned; no new check started")
                : Watch(CmekProbe.Start(plan, _wake));
            if (result is CmekCheckResult answer)
            {
                _telemetry?.CmekChecked(answer.Outcome, answer.Reason, Stopwatch.GetElapsedTime(started), _checkTimeout);
                delay = Apply(plan.Generation, answer);
            }
        }
        finally
        {
            lock (_sync)
            {
                ReleaseCheckWaiters(waiters);
            }
        }
        return delay;
    }

    /// <summary>
    /// Waits for the probe's answer with deadlines: one interval without an answer degrades an open
    /// store; a degraded store locks when its TTL runs out (the probe may hang on); the probe is
    /// abandoned at the check timeout. Null when the monitor stops first.
    /// </summary>
    private CmekCheckResult? Watch(CmekProbe probe)
    {
        long started = Stopwatch.GetTimestamp();
        long degradeAt = Deadline(started, _interval);
        long giveUpAt = Deadline(started, _checkTimeout);
        while (true)
        {
            _wake.Reset(); // before reading the conditions: a Set after this wakes the Wait below
            if (probe.TryTake(out CmekCheckResult answer))
            {
                return answer;
            }
            if (_stopping)
            {
                if (probe.Abandon())
                {
                    return null;
                }
                continue; // it answered just now: take the answer (and drop it in Apply)
            }
            long now = Stopwatch.GetTimestamp();
            if (now >= giveUpAt)
            {
                if (probe.Abandon())
                {
                    _abandoned.Add(probe);
                    return CmekCheckResult.Transient(CmekProbe.TimedOut(_checkTimeout));
                }
                continue;
            }
            long wakeAt = giveUpAt;
            if (now >= degradeAt)
            {
                DegradeForSlowCheck(probe.Plan.Generation);
            }
            else
            {
                wakeAt = Math.Min(wakeAt, degradeAt);
            }
            if (_state == StoreState.Degraded)
            {
                long lockAt = TtlDeadline();
                if (now >= lockAt)
                {
                    LockAtTtl("a check is still waiting for an answer");
                }
                else
                {
                    wakeAt = Math.Min(wakeAt, lockAt);
                }
            }
            _wake.Wait(Until(wakeAt, now));
        }
    }

    private void DegradeForSlowCheck(long generation)
    {
        lock (_sync)
        {
            if (!_closing && _generation == generation && _state == StoreState.Open)
            {
                _telemetry?.CmekCheckStillWaiting(_interval, _checkTimeout);
                SetState(StoreState.Degraded, $"the CMEK has not answered a check for {CmekProbe.Seconds(_interval)}; serving from cached keys", StoreState.Open);
            }
        }
    }

    private void LockAtTtl(string detail)
    {
        lock (_sync)
        {
            // Re-read under the lock: a healthy answer may have come in since the caller looked.
            if (_state == StoreState.Degraded && Stopwatch.GetTimestamp() >= TtlDeadline())
            {
                LockCore($"no successful CMEK check for {CmekProbe.Seconds(_keyCacheTtl)} (the key cache TTL); {detail}");
            }
        }
    }

    /// <summary>Acts on a check's answer; returns how long to wait before the next check (shorter while degraded).</summary>
    private TimeSpan Apply(long generation, CmekCheckResult result)
    {
        lock (_sync)
        {
            if (_closing || generation != _generation)
            {
                // Stale: the store closed, locked, unlocked or changed its CMEK while the check ran.
                result.Unlock?.Dispose();
                return _interval;
            }
            switch (result.Outcome)
            {
                case CmekCheckOutcome.Healthy:
                    MarkHealthy();
                    if (_state == StoreState.Degraded)
                    {
                        SetState(StoreState.Open, "the CMEK answers again", StoreState.Degraded);
                    }
                    else if (_state == StoreState.Locked && result.Unlock is UnlockMaterial unlock)
                    {
                        try
                        {
                            ReopenCore(unlock, "the CMEK is available again");
                        }
                        catch (EngineException)
                        {
                            // Still not usable: stay locked, try at the next check.
                        }
                        return _interval;
                    }
                    result.Unlock?.Dispose();
                    return _interval;
                case CmekCheckOutcome.Revoked:
                    LockCore($"CMEK revoked: {result.Reason}");
                    return _interval;
                default:
                    _consecutiveTransientFailures++;
                    _lastTransientReason = result.Reason;
                    if (_state == StoreState.Open)
                    {
                        SetState(StoreState.Degraded, $"CMEK unreachable, serving from cached keys: {result.Reason}", StoreState.Open);
                    }
                    if (_state == StoreState.Degraded && Stopwatch.GetTimestamp() >= TtlDeadline())
                    {
                        LockCore($"no successful CMEK check for {CmekProbe.Seconds(_keyCacheTtl)} (the key cache TTL); last error: {result.Reason}");
                    }
                    // Retry sooner while degraded: 1 s, 2 s, 4 s ... capped by the check interval.
                    double seconds = Math.Min(_interval.TotalSeconds, Math.Pow(2, Math.Min(_consecutiveTransientFailures - 1, 10)));
                    return TimeSpan.FromSeconds(Math.Max(seconds, Math.Min(1, _interval.TotalSeconds)));
            }
        }
    }

    /// <summary>With <see cref="_sync"/> held.</summary>
    private void LockCore(string reason)
    {
        if (_closing || _state is StoreState.Locked or StoreState.Closed)
        {
            return;
        }
        StoreState before = _state;
        DateTimeOffset lockedAt = DateTimeOffset.UtcNow;
        _lockReason = reason;
        _generation++;
        try
        {
            // State reads Locked only once everything is closed and zeroed; new calls are refused
            // from here on by the closed gate, and a second Lock waits on _sync.
            _store.CloseForLock(() => new StoreLockedException(reason, lockedAt));
        }
        finally
        {
            // Even when closing failed half-way (the error goes to the caller), the gate is closed
            // and the store counts as locked. A provider we opened holds the customer's key
            // material too: drop it with the rest.
            DropCmek();
            SetState(StoreState.Locked, reason, before);
        }
    }

    /// <summary>With <see cref="_sync"/> held; <paramref name="unlock"/> is consumed (used or disposed).</summary>
    private void ReopenCore(UnlockMaterial unlock, string reason)
    {
        try
        {
            _store.ReopenAfterUnlock(unlock.Registry);
        }
        catch
        {
            if (unlock.OwnsProvider)
            {
                unlock.Provider.Dispose();
            }
            throw;
        }
        _cmek = unlock.Provider;
        _cmekDropped = false;
        _generation++;
        MarkHealthy();
        _lockReason = null;
        SetState(StoreState.Open, reason, StoreState.Locked);
    }

    private void DropCmek()
    {
        if (_ownsCmek && !_cmekDropped)
        {
            _cmekDropped = true;
            _cmek.Dispose();
        }
    }

    private void MarkHealthy()
    {
        _lastHealthy = Stopwatch.GetTimestamp();
        _lastHealthyTime = DateTimeOffset.UtcNow;
        _consecutiveTransientFailures = 0;
        _lastTransientReason = null;
    }

    private long TtlDeadline() => Deadline(Volatile.Read(ref _lastHealthy), _keyCacheTtl);

    private void SetState(StoreState next, string reason, StoreState before)
    {
        _state = next;
        var change = new StoreStateChange(before, next, reason, DateTimeOffset.UtcNow);
        try
        {
            StateChanged?.Invoke(_owner, change);
        }
#pragma warning disable CA1031 // a subscriber's bug must not break the state machine
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>With <see cref="_sync"/> held.</summary>
    private List<TaskCompletionSource> TakeCheckWaiters()
    {
        List<TaskCompletionSource> waiters = _checkWaiters;
        _checkWaiters = [];
        _checkRequested = false;
        return waiters;
    }

    private static void ReleaseCheckWaiters(List<TaskCompletionSource> waiters)
    {
        foreach (TaskCompletionSource waiter in waiters)
        {
            waiter.TrySetResult(); // continuations run elsewhere (RunContinuationsAsynchronously)
        }
    }

    /// <summary>A Stopwatch timestamp <paramref name="after"/> past <paramref name="from"/>, saturating (a TTL may be huge).</summary>
    private static long Deadline(long from, TimeSpan after)
    {
        double ticks = after.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : from + (long)ticks;
    }

    /// <summary>How long to wait for <paramref name="deadline"/>; a wait may end early, so callers loop.</summary>
    private static TimeSpan Until(long deadline, long now)
    {
        double ms = Math.Ceiling((deadline - now) * 1000.0 / Stopwatch.Frequency);
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 1, int.MaxValue - 1));
    }
}
