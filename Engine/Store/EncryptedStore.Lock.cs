using System.Diagnostics.Metrics;
using Engine.Crypto;

namespace Engine;

public sealed partial class EncryptedStore
{
    private readonly Meter _meter = new("Engine.EncryptedStore");
    private volatile StoreState _state = StoreState.Open;
    private DateTimeOffset _lastSuccessfulCheck;
    private string? _lockReason;
    private DateTimeOffset _lockedAt;
    private int _consecutiveTransientFailures;
    private CancellationTokenSource? _checkCancellation;
    private Task? _checkLoop;
    private long _cmekChecks;

    /// <summary>Where the store is in its lock state machine.</summary>
    public StoreState State => _state;

    /// <summary>Why the store locked, while it is <see cref="StoreState.Locked"/>; otherwise null.</summary>
    public string? LockReason => _state == StoreState.Locked ? _lockReason : null;

    /// <summary>Raised after every state transition, on the thread that made it (usually the CMEK check).</summary>
    public event EventHandler<StoreStateChange>? StateChanged;

    /// <summary>Number of CMEK health checks made since open (one per check interval in steady state).</summary>
    public long CmekCheckCount => Interlocked.Read(ref _cmekChecks);

    /// <summary>
    /// Reopens a <see cref="StoreState.Locked"/> store after the CMEK is available again: unwraps the
    /// root key, reopens RocksDB and serves the same data. Does nothing when the store is not locked.
    /// With <see cref="StoreOptions.AutoUnlock"/> (the default) the background check does this itself.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The CMEK is still unavailable; the store stays locked.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public void Unlock()
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_state == StoreState.Locked)
            {
                UnlockCore("unlocked on request");
            }
        }
    }

    /// <summary>Runs one CMEK check now, as the background loop would (tests and operators).</summary>
    internal Task CheckCmekNowAsync(CancellationToken ct = default) => CheckOnceAsync(ct);

    /// <summary>Locks the store now with <paramref name="reason"/> (tests; the check loop calls it on revocation).</summary>
    internal void Lock(string reason)
    {
        lock (_lifecycle)
        {
            if (_disposed || _state is StoreState.Locked or StoreState.Closed)
            {
                return;
            }
            StoreState before = _state;
            _lockReason = reason;
            _lockedAt = DateTimeOffset.UtcNow;
            // State reads Locked only once everything is closed and zeroed; new calls are refused
            // from here on by the closed gate, and a second Lock waits on _lifecycle.
            DateTimeOffset lockedAt = _lockedAt;
            _gate.CloseAndDrain(() => new StoreLockedException(reason, lockedAt));
            CloseSession();
            if (_ownsCmek)
            {
                // A provider we opened holds the customer's key material too: drop it with the rest.
                _cmek.Dispose();
            }
            SetState(StoreState.Locked, reason, before);
        }
    }

    private void UnlockCore(string reason)
    {
        ICmekProvider cmek = _ownsCmek ? CmekProviders.Open(_cmekUri) : _cmek;
        try
        {
            _session = StoreSession.Open(_layout, _options, cmek, create: false);
        }
        catch
        {
            if (_ownsCmek)
            {
                cmek.Dispose();
            }
            throw;
        }
        _cmek = cmek;
        _lastSuccessfulCheck = DateTimeOffset.UtcNow;
        _consecutiveTransientFailures = 0;
        _lockReason = null;
        _gate.Reopen();
        SetState(StoreState.Open, reason, StoreState.Locked);
    }

    private void SetState(StoreState next, string reason, StoreState before)
    {
        _state = next;
        var change = new StoreStateChange(before, next, reason, DateTimeOffset.UtcNow);
        try
        {
            StateChanged?.Invoke(this, change);
        }
#pragma warning disable CA1031 // a subscriber's bug must not break the state machine
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void StartCmekChecks()
    {
        _meter.CreateObservableGauge("engine.store.state", () => (int)_state, description: "0 Open, 1 Degraded, 2 Locked, 3 Closed");
        _meter.CreateObservableCounter("engine.store.cmek_checks", () => CmekCheckCount);
        _checkCancellation = new CancellationTokenSource();
        CancellationToken ct = _checkCancellation.Token;
        _checkLoop = Task.Run(() => CheckLoopAsync(ct), CancellationToken.None);
    }

    private void StopCmekChecks()
    {
        _checkCancellation?.Cancel();
        try
        {
            _checkLoop?.Wait();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OperationCanceledException))
        {
        }
        _checkCancellation?.Dispose();
        _meter.Dispose();
    }

    private async Task CheckLoopAsync(CancellationToken ct)
    {
        TimeSpan delay = _options.CmekCheckInterval;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = await CheckOnceAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One check: returns how long to wait before the next one (shorter while degraded).</summary>
    private async Task<TimeSpan> CheckOnceAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _cmekChecks);
        Task check = CheckCmekAsync(ct);
        await WatchSlowCheckAsync(check, ct).ConfigureAwait(false);
        CmekFailureKind outcome;
        string? reason = null;
        try
        {
            await check.ConfigureAwait(false);
            outcome = CmekFailureKind.Unspecified;
        }
        catch (KeyUnavailableException ex) when (ex.FailureKind == CmekFailureKind.Transient)
        {
            outcome = CmekFailureKind.Transient;
            reason = ex.Message;
        }
        catch (KeyUnavailableException ex)
        {
            outcome = CmekFailureKind.Revoked;
            reason = ex.Message;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            outcome = CmekFailureKind.Transient;
            reason = $"the CMEK did not answer within {Seconds(_options.CmekCheckTimeout)}";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
        {
            outcome = CmekFailureKind.Transient;
            reason = $"the CMEK could not be reached: {ex.Message}";
        }
        return OnCheckResult(outcome, reason);
    }

    /// <summary>
    /// A check that hangs must not leave the store looking healthy: once it has run for a check
    /// interval the store is Degraded, and when the key cache TTL runs out while it still hangs,
    /// the store locks without waiting for the check's own timeout.
    /// </summary>
    private async Task WatchSlowCheckAsync(Task check, CancellationToken ct)
    {
        if (await Task.WhenAny(check, Task.Delay(_options.CmekCheckInterval, ct)).ConfigureAwait(false) == check)
        {
            return;
        }
        lock (_lifecycle)
        {
            if (!_disposed && _state == StoreState.Open)
            {
                SetState(StoreState.Degraded, $"the CMEK has not answered a check for {Seconds(_options.CmekCheckInterval)}; serving from cached keys", StoreState.Open);
            }
        }
        while (true)
        {
            TimeSpan remaining;
            lock (_lifecycle)
            {
                if (_disposed || _state != StoreState.Degraded)
                {
                    return;
                }
                remaining = _lastSuccessfulCheck + _options.KeyCacheTtl - DateTimeOffset.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    Lock($"no successful CMEK check for {Seconds(_options.KeyCacheTtl)} (the key cache TTL); a check is still waiting for an answer");
                    return;
                }
            }
            // Timers may fire a little early against the wall clock: loop until the TTL has passed.
            if (await Task.WhenAny(check, Task.Delay(remaining + TimeSpan.FromMilliseconds(5), ct)).ConfigureAwait(false) == check)
            {
                return;
            }
        }
    }

    private static string Seconds(TimeSpan t) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###} s");

    private TimeSpan OnCheckResult(CmekFailureKind outcome, string? reason)
    {
        TimeSpan interval = _options.CmekCheckInterval;
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return interval;
            }
            DateTimeOffset now = DateTimeOffset.UtcNow;
            switch (outcome)
            {
                case CmekFailureKind.Unspecified:
                    _lastSuccessfulCheck = now;
                    _consecutiveTransientFailures = 0;
                    if (_state == StoreState.Degraded)
                    {
                        SetState(StoreState.Open, "the CMEK answers again", StoreState.Degraded);
                    }
                    else if (_state == StoreState.Locked && _options.AutoUnlock)
                    {
                        try
                        {
                            UnlockCore("the CMEK is available again");
                        }
                        catch (EngineException)
                        {
                            // Still not usable for unwrapping: stay locked, try at the next check.
                        }
                    }
                    return interval;
                case CmekFailureKind.Revoked:
                    Lock($"CMEK revoked: {reason}");
                    return interval;
                default:
                    _consecutiveTransientFailures++;
                    if (_state == StoreState.Open)
                    {
                        SetState(StoreState.Degraded, $"CMEK unreachable, serving from cached keys: {reason}", StoreState.Open);
                    }
                    if (_state == StoreState.Degraded && now - _lastSuccessfulCheck >= _options.KeyCacheTtl)
                    {
                        Lock($"no successful CMEK check for {Seconds(_options.KeyCacheTtl)} (the key cache TTL); last error: {reason}");
                    }
                    // Retry sooner while degraded: 1 s, 2 s, 4 s ... capped by the check interval.
                    double seconds = Math.Min(interval.TotalSeconds, Math.Pow(2, Math.Min(_consecutiveTransientFailures - 1, 10)));
                    return TimeSpan.FromSeconds(Math.Max(seconds, Math.Min(1, interval.TotalSeconds)));
            }
        }
    }

    /// <summary>Asks the CMEK whether the key is still usable, without holding any lock.</summary>
    private async Task CheckCmekAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.CmekCheckTimeout);
        ICmekProvider? fresh = null;
        ICmekProvider cmek;
        lock (_lifecycle)
        {
            if (_state == StoreState.Locked && _ownsCmek)
            {
                // Our provider was dropped with the keys: probe with a new one (throws if still revoked).
                fresh = CmekProviders.Open(_cmekUri);
            }
            cmek = fresh ?? _cmek;
        }
        try
        {
            if (cmek is ICmekHealthCheck health)
            {
                await health.CheckAsync(timeout.Token).ConfigureAwait(false);
            }
            else
            {
                // No cheap check: prove the key still unwraps the root key.
                (await KeyRegistry.OpenAsync(_layout.Root, cmek, timeout.Token).ConfigureAwait(false)).Dispose();
            }
        }
        finally
        {
            fresh?.Dispose();
        }
    }
}
