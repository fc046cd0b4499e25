using System.Globalization;
using Engine.Testing;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>One write (or flush, or compaction) a crash child performs before it is killed.</summary>
internal sealed record CrashStep(CrashStepKind Kind, WriteBatchSpec? Batch, bool Sync)
{
    public override string ToString() => Kind switch
    {
        CrashStepKind.Write when Batch!.Operations.Count == 1 => $"{Batch.Operations[0]}{(Sync ? " sync" : string.Empty)}",
        CrashStepKind.Write => $"batch {Batch}{(Sync ? " sync" : string.Empty)}",
        _ => Kind.ToString(),
    };
}

internal enum CrashStepKind : byte
{
    Write = 1,
    Flush = 2,
    Compact = 3,
}

/// <summary>
/// Crash and reopen (directory stores): the test closes its store, a child process opens it, performs
/// <c>steps</c> (writes mostly not synced), one synced barrier write, then keeps writing junk of all
/// sizes (and flushing) to a scratch namespace until it is killed with SIGKILL <c>killAfterMs</c> later.
/// Reopened, the store must hold exactly the model: every step acknowledged before the barrier, and the
/// scratch namespace, whose contents the model does not track.
/// </summary>
internal sealed class CrashOp(IReadOnlyList<CrashStep> steps, int killAfterMs, int junkSeed) : StoreOp
{
    public const string ScratchNamespace = "__crash-scratch";

    public override bool Pre(StoreModel model) =>
        model.Setup.Backend == StoreBackend.Directory && model.Serving && model.Cmek == TestCmekAvailability.Available;

    public static Gen<Operation<StoreHarness, StoreModel>> Generate(StoreModel m, Func<string, Gen<byte[]>> key, Gen<string> ns)
    {
        Gen<CrashStep> write = ns.SelectMany(n => key(n).Where(k => !StoreModel.KeyTooLong(k)).SelectMany(k => Gen.Frequency(
                (3, EngineArbitraries.Values().Select(v => new WriteBatchSpec([new BatchOperation(n, k, v)]))),
                (1, Gen.Constant(new WriteBatchSpec([new BatchOperation(n, k, null)]))),
                (1, EngineArbitraries.WriteBatches([n])))))
            .SelectMany(batch => Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))).Select(sync => new CrashStep(CrashStepKind.Write, batch, sync)));
        Gen<CrashStep> step = Gen.Frequency(
            (12, write),
            (1, Gen.Constant(new CrashStep(CrashStepKind.Flush, null, false))),
            (1, Gen.Constant(new CrashStep(CrashStepKind.Compact, null, false))));
        return Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(step, n))
            .SelectMany(s => Gen.Choose(0, 400).SelectMany(kill => Gen.Choose(0, int.MaxValue)
                .Select(seed => (Operation<StoreHarness, StoreModel>)new CrashOp(s, kill, seed))));
    }

    protected override StoreModel Next(StoreModel model)
    {
        StoreModel m = model;
        foreach (CrashStep step in steps)
        {
            if (step.Kind == CrashStepKind.Write)
            {
                m = m.Apply(step.Batch!);
            }
        }
        return (m with { State = ModelState.Open, OpaqueNamespaces = m.OpaqueNamespaces.Add(ScratchNamespace) }).TouchedAll();
    }

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        harness.Close();
        var script = new CrashScript(harness.StorePath!, "file:" + harness.KeyPath, harness.Setup.FrameSize, junkSeed, steps);
        using (var child = CrashChild.Start(script))
        {
            child.WaitForBarrier(steps.Count, TimeSpan.FromSeconds(120));
            Thread.Sleep(killAfterMs);
            child.Kill();
        }
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
