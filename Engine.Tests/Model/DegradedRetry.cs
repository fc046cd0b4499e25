using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>
/// The one background key check the model cannot switch off. The harness sets the check interval to an
/// hour, but while the store is Degraded its monitor retries sooner by design (after 1 s, 2 s, 4 s ...,
/// capped by the interval; Engine/Locking/CmekMonitor.cs). Such a retry may come at any time and its
/// outcome is set by the CMEK's condition then: available recovers (Open), transient stays Degraded (the
/// key cache TTL is an hour too, so it never locks for that), revoked locks, with everything a lock
/// implies. So whenever the model is Degraded, <see cref="StoreOp"/> reads the store's state and accepts
/// exactly these transitions: to Open only when the CMEK is available now or was at some point since the
/// last look, to Locked only when it was revoked at some point since; anything else is left to
/// <see cref="ModelCheck.Matches"/>, which reports it.
/// </summary>
internal static class DegradedRetry
{
    /// <summary>
    /// The model with the store's background retries since the last look applied (the same instance
    /// when there were none, or when the store shows a transition the spec does not allow).
    /// </summary>
    public static StoreModel Observe(StoreHarness harness, StoreModel model)
    {
        harness.CmekSinceLastLook.Add(model.Cmek);
        StoreModel observed = model;
        if (model.State == ModelState.Degraded && harness.IsOpen)
        {
            StoreState actual = harness.Store.State;
            if (actual == StoreState.Open && harness.CmekSinceLastLook.Contains(TestCmekAvailability.Available))
            {
                observed = model with { State = ModelState.Open };
            }
            else if (actual == StoreState.Locked && harness.CmekSinceLastLook.Contains(TestCmekAvailability.Revoked))
            {
                observed = Locked(model);
            }
        }
        harness.CmekSinceLastLook.Clear();
        harness.CmekSinceLastLook.Add(model.Cmek);
        if (!ReferenceEquals(observed, model))
        {
            Count(harness, $"Degraded->{observed.State}");
        }
        return observed;
    }

    /// <summary>One accepted background transition (or a command skipped after one), in the harness and the run's statistics.</summary>
    public static void Count(StoreHarness harness, string what)
    {
        harness.BackgroundTransitions++;
        PbtStats.Current.RecordBackground(what);
    }

    /// <summary>The store locked by a retry while degraded: as a check's lock, snapshots released by the lock.</summary>
    public static StoreModel Locked(StoreModel model) =>
        (model with { State = ModelState.Locked }).WithSnapshotsReleased(SnapshotStatus.ReleasedByLock);

    /// <summary>
    /// A retry locked the store while a command of a degraded model ran (the command may have been
    /// refused with <see cref="StoreLockedException"/> half-way): allowed only when the CMEK was revoked
    /// at some point since the last look.
    /// </summary>
    public static bool LockedMeanwhile(StoreHarness harness, StoreModel before, StoreModel after) =>
        before.State == ModelState.Degraded && harness.IsOpen && harness.Store.State == StoreState.Locked
        && (harness.CmekSinceLastLook.Contains(TestCmekAvailability.Revoked) || before.Cmek == TestCmekAvailability.Revoked
            || after.Cmek == TestCmekAvailability.Revoked);
}
