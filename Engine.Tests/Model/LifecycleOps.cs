using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>Flush of every namespace's memtable to encrypted SSTs; everything must read back the same.</summary>
internal sealed class FlushOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model.Serving ? model.TouchedAll() : model;

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        ModelCheck.Call(expected, ToString(), harness.Store.Flush);

    public override string ToString() => "Flush";
}

/// <summary>Full compaction of every namespace (SSTs rewritten under fresh data keys).</summary>
internal sealed class CompactOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model.Serving ? model.TouchedAll() : model;

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        ModelCheck.Call(expected, ToString(), harness.Store.Compact);

    public override string ToString() => "Compact";
}

/// <summary>Verify authenticates every frame of every file (directory stores; in memory it finds no files).</summary>
internal sealed class VerifyOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        VerifyReport? report = null;
        ModelCheck.Call(expected, ToString(), () => report = harness.Store.Verify());
        if (report is not null && expected.Setup.Backend == StoreBackend.Directory)
        {
            ModelCheck.That(report.FileCount > 0, "Verify checked no file of a directory store");
            ModelCheck.That(!report.Files.Any(f => f.TornTail && f.Path.EndsWith(".sst", StringComparison.Ordinal)), "Verify reports a torn SST");
        }
    }

    public override string ToString() => "Verify";
}

/// <summary>Close and open again. Opening needs the CMEK: while it is revoked or failing the store stays closed.</summary>
internal sealed class ReopenOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => OpenOp.AfterOpen(model);

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        harness.Close();
        OpenOp.OpenExpecting(harness, expected, ToString());
    }

    public override string ToString() => "Reopen";
}

/// <summary>Opens a closed store (after an open was refused).</summary>
internal sealed class OpenOp : StoreOp
{
    public override bool Pre(StoreModel model) => model.State == ModelState.Closed;

    protected override StoreModel Next(StoreModel model) => AfterOpen(model);

    protected override void Execute(StoreHarness harness, StoreModel expected) => OpenExpecting(harness, expected, ToString());

    /// <summary>The store was closed (releasing every snapshot) and opened again when the CMEK answers.</summary>
    public static StoreModel AfterOpen(StoreModel model)
    {
        model = model.WithSnapshotsReleased(SnapshotStatus.ReleasedByClose);
        return model.Cmek == TestCmekAvailability.Available
            ? (model with { State = ModelState.Open }).TouchedAll()
            : model with { State = ModelState.Closed };
    }

    public static void OpenExpecting(StoreHarness harness, StoreModel expected, string what)
    {
        if (expected.State != ModelState.Closed)
        {
            harness.Open();
            return;
        }
        var refused = ModelCheck.Expect<KeyUnavailableException>(harness.Open, what);
        CmekFailureKind kind = expected.Cmek == TestCmekAvailability.Revoked ? CmekFailureKind.Revoked : CmekFailureKind.Transient;
        ModelCheck.That(refused.FailureKind == kind, $"{what}: open refused with failure kind {refused.FailureKind}, expected {kind}");
    }

    public override string ToString() => "Open";
}

/// <summary>The CMEK starts refusing (revoked); the store notices at its next check.</summary>
internal sealed class RevokeCmekOp(string errorCode) : StoreOp
{
    public override bool Pre(StoreModel model) => true;

    protected override StoreModel Next(StoreModel model) => model with { Cmek = TestCmekAvailability.Revoked };

    protected override void Execute(StoreHarness harness, StoreModel expected) => harness.Cmek.Revoke(errorCode);

    public override string ToString() => $"RevokeCmek({errorCode})";
}

/// <summary>The CMEK starts failing transiently (throttling, 5xx).</summary>
internal sealed class MakeCmekTransientOp : StoreOp
{
    public override bool Pre(StoreModel model) => true;

    protected override StoreModel Next(StoreModel model) => model with { Cmek = TestCmekAvailability.Transient };

    protected override void Execute(StoreHarness harness, StoreModel expected) => harness.Cmek.MakeTransient();

    public override string ToString() => "MakeCmekTransient";
}

/// <summary>The CMEK answers again.</summary>
internal sealed class RestoreCmekOp : StoreOp
{
    public override bool Pre(StoreModel model) => true;

    protected override StoreModel Next(StoreModel model) => model with { Cmek = TestCmekAvailability.Available };

    protected override void Execute(StoreHarness harness, StoreModel expected) => harness.Cmek.Restore();

    public override string ToString() => "RestoreCmek";
}

/// <summary>
/// One CMEK health check now (the background check is off): revoked locks, transient degrades, available
/// recovers a degraded store and, with AutoUnlock, unlocks a locked one with all data back.
/// </summary>
internal sealed class CheckCmekOp : StoreOp
{
    protected override StoreModel Next(StoreModel model)
    {
        ModelState next = (model.Cmek, model.State) switch
        {
            (TestCmekAvailability.Available, ModelState.Locked) => model.Setup.AutoUnlock ? ModelState.Open : ModelState.Locked,
            (TestCmekAvailability.Available, _) => ModelState.Open,
            (TestCmekAvailability.Revoked, _) => ModelState.Locked,
            (TestCmekAvailability.Transient, ModelState.Open) => ModelState.Degraded,
            _ => model.State, // transient while degraded (TTL far away) or locked
        };
        StoreModel after = model with { State = next };
        if (next == ModelState.Locked && model.State != ModelState.Locked)
        {
            after = after.WithSnapshotsReleased(SnapshotStatus.ReleasedByLock);
        }
        return model.State == ModelState.Locked && next == ModelState.Open ? after.TouchedAll() : after;
    }

    protected override void Execute(StoreHarness harness, StoreModel expected) => harness.Store.RunCmekCheck();

    public override string ToString() => "CheckCmek";
}

/// <summary>Explicit unlock: reopens a locked store when the CMEK is back, refuses (stays locked) otherwise; no-op when not locked.</summary>
internal sealed class UnlockOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        model.State == ModelState.Locked && model.Cmek == TestCmekAvailability.Available
            ? (model with { State = ModelState.Open }).TouchedAll()
            : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (expected.State == ModelState.Locked)
        {
            ModelCheck.Expect<KeyUnavailableException>(harness.Store.Unlock, ToString());
        }
        else
        {
            harness.Store.Unlock();
        }
    }

    public override string ToString() => "Unlock";
}

/// <summary>
/// A scan is open when the store locks: its next step fails with <see cref="StoreLockedException"/>;
/// after restore and unlock a new scan sees everything. (Revoke, check, step, restore, unlock.)
/// </summary>
internal sealed class ScanAcrossLockOp(string ns) : StoreOp
{
    public override bool Pre(StoreModel model) => model.State == ModelState.Open && model.Cmek == TestCmekAvailability.Available;

    protected override StoreModel Next(StoreModel model) => model.WithNamespace(ns).WithSnapshotsReleased(SnapshotStatus.ReleasedByLock).TouchedOnly(ns);

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        EncryptedStore store = harness.Store;
        using IEnumerator<KeyValuePair<byte[], byte[]>> scan = store.GetNamespace(ns).Scan((byte[]?)null, null).GetEnumerator();
        bool started = scan.MoveNext();
        harness.Cmek.Revoke("AccessDeniedException");
        ModelCheck.That(store.RunCmekCheck() == StoreState.Locked, $"{this}: the store did not lock on a revoked CMEK");
        if (started)
        {
            ModelCheck.ExpectLocked(() => scan.MoveNext(), $"{this}: step of a scan opened before the lock");
        }
        harness.Cmek.Restore();
        store.Unlock();
    }

    public override string ToString() => $"ScanAcrossLock({Show.Name(ns)})";
}
