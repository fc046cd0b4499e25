using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>Deletes (crypto-shreds) a namespace; naming an absent one is refused. A later use of the name creates a new, empty namespace.</summary>
internal sealed class DeleteNamespaceOp(string ns) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        !model.Serving ? model
        : model.HasNamespace(ns) ? model.WithoutNamespace(ns)
        : model with { Refused = true };

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        KeyOps.Call(expected, ToString(), () => harness.Store.DeleteNamespace(ns));

    public override string ToString() => $"DeleteNamespace({Show.Name(ns)})";
}

/// <summary>Rotates the store to a new CMEK; the old one is no longer needed (nor asked), the new one is available.</summary>
internal sealed class RotateCmekOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model.Serving ? model with { Cmek = TestCmekAvailability.Available } : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        (TestCmek cmek, string? keyPath) = harness.NewCmek();
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.Keys.RotateCmek(cmek), ToString());
            cmek.Dispose();
            return;
        }
        harness.Store.Keys.RotateCmek(cmek);
        harness.Adopt(cmek, keyPath);
        ModelCheck.That(harness.Store.CmekUri == cmek.Uri, $"{this}: the store reports CMEK {harness.Store.CmekUri}, not the new {cmek.Uri}");
    }

    public override string ToString() => "RotateCmek";
}

/// <summary>New root key, every KEK re-sealed: needs the CMEK to wrap and unwrap, refused with its failure kind otherwise.</summary>
internal sealed class RotateRootKeyOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (expected.Serving && expected.Cmek != TestCmekAvailability.Available)
        {
            var refused = ModelCheck.Expect<KeyUnavailableException>(harness.Store.Keys.RotateRootKey, ToString());
            CmekFailureKind kind = expected.Cmek == TestCmekAvailability.Revoked ? CmekFailureKind.Revoked : CmekFailureKind.Transient;
            ModelCheck.That(refused.FailureKind == kind, $"{this}: refused with failure kind {refused.FailureKind}, expected {kind}");
            return;
        }
        ModelCheck.Call(expected, ToString(), harness.Store.Keys.RotateRootKey);
    }

    public override string ToString() => "RotateRootKey";
}

/// <summary>
/// KEK rotation of a namespace (or of the system scope when <c>ns</c> is null): new version in force at
/// once, headers re-wrapped in the background; with <c>wait</c> the command waits until the old versions
/// are retired, without it later commands (reopen, lock, crash) interrupt the re-wrap.
/// </summary>
internal sealed class RotateKekOp(string? ns, bool wait) : StoreOp
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    protected override StoreModel Next(StoreModel model) =>
        model.Serving && ns is not null && !model.HasNamespace(ns) ? model with { Refused = true } : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        KekRotation? rotation = null;
        KeyOps.Call(expected, ToString(), () => rotation = ns is null ? harness.Store.Keys.RotateSystemKey() : harness.Store.Keys.RotateNamespaceKey(ns));
        if (rotation is not null && wait)
        {
            ModelCheck.That(rotation.Completion.Wait(s_timeout), $"{this}: the rotation did not finish within {s_timeout.TotalSeconds} s ({harness.Store.Keys.RotationProblem})");
        }
    }

    public override string Kind => wait ? "RotateKekAndWait" : "RotateKek";

    public override string ToString() => $"RotateKek({(ns is null ? "system" : Show.Name(ns))}{(wait ? ", wait" : string.Empty)})";
}

/// <summary>DEK rotation: rewrites every live SST of one namespace (or all) under fresh data keys.</summary>
internal sealed class RotateDataKeysOp(string? ns) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        !model.Serving ? model
        : ns is not null && !model.HasNamespace(ns) ? model with { Refused = true }
        : model.TouchedAll();

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        bool nothingToRotate = ns is null && !expected.AllNamespaceNames.Any();
        if (!expected.Serving && nothingToRotate)
        {
            harness.Store.Keys.RotateDataKeys(ns); // no namespace: nothing enters the store, so no lock error either
            return;
        }
        IReadOnlyList<DataKeyRotationProgress> done = [];
        KeyOps.Call(expected, ToString(), () => done = harness.Store.Keys.RotateDataKeys(ns));
        foreach (DataKeyRotationProgress p in done)
        {
            ModelCheck.That(p.Complete, $"{this}: namespace {Show.Name(p.Namespace)} still has {p.OldFiles} file(s) under old data keys");
        }
    }

    public override string ToString() => $"RotateDataKeys({(ns is null ? "all" : Show.Name(ns))})";
}

/// <summary>Key status: names the store's CMEK, lists the system scope and every namespace, and no live file needs a retired KEK.</summary>
internal sealed class KeyStatusOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        KeyStatusReport? report = null;
        ModelCheck.Call(expected, ToString(), () => report = harness.Store.Keys.Status());
        if (report is null)
        {
            return;
        }
        ModelCheck.That(report.CmekUri == harness.Cmek.Uri, $"KeyStatus names CMEK {report.CmekUri}, the store uses {harness.Cmek.Uri}");
        string[] scopes = [.. report.Scopes.Where(s => s.NamespaceId is not null).Select(s => s.Name).Order(StringComparer.Ordinal)];
        ModelCheck.That(scopes.SequenceEqual(expected.AllNamespaceNames), $"KeyStatus lists namespaces [{string.Join(", ", scopes.Select(Show.Name))}]");
        foreach (ScopeKeyStatus scope in report.Scopes)
        {
            ModelCheck.That(scope.Versions.All(v => v.InRegistry), $"KeyStatus: a live file of {Show.Name(scope.Name)} names a KEK version the registry no longer holds");
            ModelCheck.That(scope.UnreadableFiles == 0, $"KeyStatus: {scope.UnreadableFiles} file(s) of {Show.Name(scope.Name)} have no readable header");
        }
    }

    public override string ToString() => "KeyStatus";
}

/// <summary>Shared expectations of the key commands.</summary>
internal static class KeyOps
{
    /// <summary>Locked: <see cref="StoreLockedException"/>; refused: <see cref="ArgumentException"/>; otherwise success.</summary>
    public static void Call(StoreModel expected, string what, Action call)
    {
        if (expected.State == ModelState.Locked)
        {
            ModelCheck.ExpectLocked(call, what);
        }
        else if (expected.Refused)
        {
            ModelCheck.Expect<ArgumentException>(call, what);
        }
        else
        {
            call();
        }
    }
}
