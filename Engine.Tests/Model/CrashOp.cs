using System.Globalization;
using Engine.Testing;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>One step a crash child performs before it is killed: a write, flush, compaction or key operation.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Batch">The write (Write only).</param>
/// <param name="Sync">Sync the write.</param>
/// <param name="Name">The namespace of a key operation (null: the system scope, or all namespaces).</param>
internal sealed record CrashStep(CrashStepKind Kind, WriteBatchSpec? Batch, bool Sync, string? Name = null)
{
    public StoreModel ApplyTo(StoreModel m) => Kind switch
    {
        CrashStepKind.Write => m.Apply(Batch!),
        CrashStepKind.DeleteNamespace when m.HasNamespace(Name!) => m.WithoutNamespace(Name!),
        _ => m, // flush, compaction and key rotations change no data; a refused step changes nothing
    };

    public override string ToString() => Kind switch
    {
        CrashStepKind.Write when Batch!.Operations.Count == 1 => $"{Batch.Operations[0]}{(Sync ? " sync" : string.Empty)}",
        CrashStepKind.Write => $"batch {Batch}{(Sync ? " sync" : string.Empty)}",
        CrashStepKind.Flush or CrashStepKind.Compact => Kind.ToString(),
        _ => $"{Kind}({(Name is null ? "all/system" : Show.Name(Name))})",
    };
}

internal enum CrashStepKind : byte
{
    Write = 1,
    Flush = 2,
    Compact = 3,
    DeleteNamespace = 4,
    RotateKek = 5,
    RotateDataKeys = 6,
}

/// <summary>
/// Crash and reopen (directory stores): the test closes its store, a child process opens it, performs
/// <c>steps</c> (writes mostly not synced, flushes, compactions, namespace deletions, KEK rotations whose
/// background re-wrap the kill interrupts, data key rotations), one synced barrier write, then keeps
/// writing junk of all sizes (and flushing) to a scratch namespace until it is killed with SIGKILL
/// <c>killAfterMs</c> later. A key step naming a namespace that no longer exists (after shrinking) is
/// refused by the child and ignored by the model.
/// Reopened, the store must hold exactly the model: every step acknowledged before the barrier, and the
/// scratch namespace, whose contents the model does not track.
/// </summary>
internal sealed class CrashOp(IReadOnlyList<CrashStep> steps, int killAfterMs, int junkSeed) : StoreOp
{
    public const string ScratchNamespace = "__crash-scratch";

    public override bool Pre(StoreModel model) =>
        model.Setup.Backend == StoreBackend.Directory && model.Serving && model.Cmek == TestCmekAvailability.Available;

    /// <param name="m">The model before the crash.</param>
    /// <param name="key">Keys for a namespace, given the model.</param>
    /// <param name="ns">Namespace names, given the model.</param>
    public static Gen<Operation<StoreHarness, StoreModel>> Generate(StoreModel m, Func<StoreModel, string, Gen<byte[]>> key, Func<StoreModel, Gen<string>> ns) =>
        Gen.Choose(0, 12).SelectMany(n => Steps(m, n, key, ns))
            .SelectMany(s => Gen.Choose(0, 400).SelectMany(kill => Gen.Choose(0, int.MaxValue)
                .Select(seed => (Operation<StoreHarness, StoreModel>)new CrashOp(s, kill, seed))));

    /// <summary><paramref name="count"/> steps, each generated from the model as the previous ones left it.</summary>
    private static Gen<CrashStep[]> Steps(StoreModel m, int count, Func<StoreModel, string, Gen<byte[]>> key, Func<StoreModel, Gen<string>> ns)
    {
        if (count == 0)
        {
            return Gen.Constant(Array.Empty<CrashStep>());
        }
        Gen<CrashStep> write = ns(m).SelectMany(n => key(m, n).Where(k => !StoreModel.KeyTooLong(k)).SelectMany(k => Gen.Frequency(
                (3, EngineArbitraries.Values().Select(v => new WriteBatchSpec([new BatchOperation(n, k, v)]))),
                (1, Gen.Constant(new WriteBatchSpec([new BatchOperation(n, k, null)]))),
                (1, EngineArbitraries.WriteBatches([n])))))
            .SelectMany(batch => Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))).Select(sync => new CrashStep(CrashStepKind.Write, batch, sync)));
        var choices = new List<(int, Gen<CrashStep>)>
        {
            (16, write),
            (1, Gen.Constant(new CrashStep(CrashStepKind.Flush, null, false))),
            (1, Gen.Constant(new CrashStep(CrashStepKind.Compact, null, false))),
            (1, Gen.Constant(new CrashStep(CrashStepKind.RotateKek, null, false))),
        };
        if (!m.Namespaces.IsEmpty)
        {
            Gen<string> existing = Gen.Elements(m.Namespaces.Keys.ToArray());
            choices.Add((1, existing.Select(n => new CrashStep(CrashStepKind.DeleteNamespace, null, false, n))));
            choices.Add((2, existing.Select(n => new CrashStep(CrashStepKind.RotateKek, null, false, n))));
            choices.Add((1, existing.Select(n => new CrashStep(CrashStepKind.RotateDataKeys, null, false, n))));
        }
        return Gen.Frequency([.. choices]).SelectMany(step => Steps(step.ApplyTo(m), count - 1, key, ns).Select(rest => (CrashStep[])[step, .. rest]));
    }

    protected override StoreModel Next(StoreModel model)
    {
        StoreModel m = steps.Aggregate(model, (current, step) => step.ApplyTo(current));
        return (m.WithSnapshotsReleased(SnapshotStatus.ReleasedByClose) with { State = ModelState.Open, OpaqueNamespaces = m.OpaqueNamespaces.Add(ScratchNamespace) }).TouchedAll();
    }

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        harness.Close();
        var script = new CrashScript(harness.StorePath!, "file:" + harness.KeyPath, harness.Setup.FrameSize, junkSeed, steps);
        CrashChild.RunAndKill(script, TimeSpan.FromSeconds(120), killAfterMs);
        harness.Open();
    }

    public override IEnumerable<StoreOp> Shrink()
    {
        for (int i = 0; i < steps.Count; i++)
        {
            yield return new CrashOp([.. steps.Take(i), .. steps.Skip(i + 1)], killAfterMs, junkSeed);
        }
        if (killAfterMs > 0)
        {
            yield return new CrashOp(steps, 0, junkSeed);
        }
    }

    public override string Kind => "Crash";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Crash([{string.Join("; ", steps)}], SIGKILL {killAfterMs} ms after the synced barrier, junk seed {junkSeed})");
}
