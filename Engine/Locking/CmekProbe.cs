using System.Globalization;
using Engine.Crypto;

namespace Engine.Locking;

/// <summary>What one probe is asked to do, fixed by the monitor when the check starts.</summary>
/// <param name="Generation">The monitor's generation when the check started; a result from an older
/// generation (the store locked, unlocked or changed its CMEK meanwhile) is dropped.</param>
/// <param name="Provider">The provider to ask, or null to open a fresh one from <paramref name="CmekUri"/>
/// (the store owns its provider and dropped it at the lock).</param>
/// <param name="CmekUri">The CMEK's URI, for a fresh provider.</param>
/// <param name="StoreRoot">The store directory: its key registry proves the key when the provider has no
/// cheap health check, or when a locked store unlocks itself.</param>
/// <param name="UnwrapForUnlock">The store is locked and unlocks itself: unwrap the registry and hand it over.</param>
/// <param name="Timeout">How long the check may take (the provider's cancellation; the monitor enforces it anyway).</param>
internal sealed record CmekProbePlan(long Generation, ICmekProvider? Provider, string CmekUri, string StoreRoot, bool UnwrapForUnlock, TimeSpan Timeout);

/// <summary>
/// One CMEK check on a thread of its own, so that a provider that blocks (a key file on a hung
/// network mount, a FIFO, an SDK waiting on a starved thread pool) blocks only that thread. The
/// monitor waits for the answer with deadlines and may abandon the probe; an abandoned probe that
/// returns later disposes what it produced and touches nothing else.
/// </summary>
/// <remarks>
/// The handoff is one compare-and-swap on <see cref="_stage"/>: the probe moves it from Running to
/// Answered after writing <see cref="_result"/>, the monitor from Running to Abandoned. Exactly one
/// wins; an interlocked operation is a full fence, so a monitor that sees Answered sees the result.
/// </remarks>
internal sealed class CmekProbe
{
    private const int Running = 0;
    private const int Answered = 1;
    private const int Abandoned = 2;

    private readonly CmekProbePlan _plan;
    private readonly ManualResetEventSlim _answered;
    private CmekCheckResult _result;
    private int _stage = Running;
    private volatile bool _returned;

    private CmekProbe(CmekProbePlan plan, ManualResetEventSlim answered)
    {
        _plan = plan;
        _answered = answered;
    }

    /// <summary>The plan the probe runs.</summary>
    public CmekProbePlan Plan => _plan;

    /// <summary>True once the probe's thread has finished, answered or abandoned.</summary>
    public bool HasReturned => _returned;

    /// <summary>Starts the check on a new background thread; <paramref name="answered"/> is set when it answers in time.</summary>
    public static CmekProbe Start(CmekProbePlan plan, ManualResetEventSlim answered)
    {
        var probe = new CmekProbe(plan, answered);
        // A background thread: a check that never returns must not keep the process alive.
        var thread = new Thread(probe.Run) { IsBackground = true, Name = "CMEK check" };
        thread.Start();
        return probe;
    }

    /// <summary>Takes the answer if the probe has answered.</summary>
    public bool TryTake(out CmekCheckResult result)
    {
        if (Volatile.Read(ref _stage) == Answered)
        {
            result = _result;
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>
    /// Gives up on the probe. Returns false when it answered first (then <see cref="TryTake"/> has the
    /// answer, and the caller owns what it holds).
    /// </summary>
    public bool Abandon() => Interlocked.CompareExchange(ref _stage, Abandoned, Running) == Running;

    private void Run()
    {
        CmekCheckResult result;
        try
        {
            result = Check(_plan);
        }
        finally
        {
            _returned = true;
        }
        _result = result;
        if (Interlocked.CompareExchange(ref _stage, Answered, Running) == Running)
        {
            // Set on a disposed ManualResetEventSlim is harmless (no kernel handle), should the store
            // have closed between the handoff and this line.
            _answered.Set();
        }
        else
        {
            _result = default;
            result.Unlock?.Dispose(); // too late: nobody will reopen with it
        }
    }

    /// <summary>Asks the CMEK; never throws (every failure is an outcome).</summary>
    private static CmekCheckResult Check(CmekProbePlan plan)
    {
        using var timeout = new CancellationTokenSource(plan.Timeout);
        ICmekProvider? fresh = null;
        try
        {
            ICmekProvider cmek = plan.Provider ?? (fresh = CmekProviders.Open(plan.CmekUri));
            if (cmek is ICmekHealthCheck health)
            {
                // Blocks this thread only; the monitor is not waiting here.
                health.CheckAsync(timeout.Token).GetAwaiter().GetResult();
            }
            if (!plan.UnwrapForUnlock)
            {
                if (cmek is not ICmekHealthCheck)
                {
                    // No cheap check: prove the key still unwraps the root key.
                    KeyRegistry.OpenAsync(plan.StoreRoot, cmek, timeout.Token).GetAwaiter().GetResult().Dispose(); // this thread only
                }
                return CmekCheckResult.Healthy();
            }
            var unlock = new UnlockMaterial(KeyRegistry.OpenAsync(plan.StoreRoot, cmek, timeout.Token).GetAwaiter().GetResult(), cmek, ownsProvider: fresh is not null);
            fresh = null; // handed over with the registry
            return CmekCheckResult.Healthy(unlock);
        }
        catch (KeyUnavailableException ex) when (ex.FailureKind == CmekFailureKind.Transient)
        {
            return CmekCheckResult.Transient(ex.Message);
        }
        catch (KeyUnavailableException ex)
        {
            return CmekCheckResult.Revoked(ex.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return CmekCheckResult.Transient(TimedOut(plan.Timeout));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
        {
            return CmekCheckResult.Transient($"the CMEK could not be reached: {ex.Message}");
        }
#pragma warning disable CA1031 // the check's thread has no caller: an unexpected error is an answer, not a crash
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Not classified (for example a provider disposed under a check that raced a lock): no
            // proof the key works, and no proof it was revoked. The result is dropped when stale.
            return CmekCheckResult.Transient($"the CMEK check failed: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            fresh?.Dispose();
        }
    }

    /// <summary>The reason given for a check that did not answer in time.</summary>
    public static string TimedOut(TimeSpan timeout) => $"the CMEK did not answer within {Seconds(timeout)}";

    /// <summary>A duration as the state change reasons show it ("2 s", "0.3 s").</summary>
    public static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###} s");
}
