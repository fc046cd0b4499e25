using Engine.Testing;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Microsoft.FSharp.Collections;

namespace Engine.Tests.Model;

/// <summary>
/// The FsCheck state machine of the store: generates command sequences from the current model, with
/// weights that keep most of a run on data while locking, reopening and crashing often enough to
/// matter, and shrinks failing sequences by dropping chunks of commands, then single commands, then
/// simplifying values and batches.
/// </summary>
internal sealed class StoreMachine(StoreBackend backend, bool crashes, int maxManyNamespaces) : Machine<StoreHarness, StoreModel>
{
    private static readonly string[] s_revocationCodes = ["DisabledException", "AccessDeniedException", "KMSInvalidStateException", "NotFoundException"];

    public override Arbitrary<Setup<StoreHarness, StoreModel>> Setup =>
        Arb.From(Gen.Elements(512, 4096, 65536).SelectMany(frame => Gen.Elements(true, false).Select(autoUnlock =>
            new StoreSetup(backend, frame, autoUnlock, crashes))).Select(s => (Setup<StoreHarness, StoreModel>)new HarnessSetup(s)));

    public override TearDown<StoreHarness> TearDown => StateMachine.TearDown<StoreHarness>(h => h.Dispose());

    public override Gen<Operation<StoreHarness, StoreModel>> Next(StoreModel m)
    {
        if (m.State == ModelState.Closed)
        {
            return Gen.Frequency(
                (6, Op(new OpenOp())),
                (4, Op(new RestoreCmekOp())),
                (1, Gen.Elements(s_revocationCodes).Select(c => (Operation<StoreHarness, StoreModel>)new RevokeCmekOp(c))),
                (1, Op(new MakeCmekTransientOp())));
        }
        bool cmekDown = m.Cmek != TestCmekAvailability.Available;
        var choices = new List<(int, Gen<Operation<StoreHarness, StoreModel>>)>
        {
            (30, Namespace(m).SelectMany(ns => Key(m, ns).SelectMany(k => EngineArbitraries.Values().SelectMany(v => Sync().Select(s => Cast(new PutOp(ns, k, v, s))))))),
            (8, Namespace(m).SelectMany(ns => Key(m, ns).SelectMany(k => Sync().Select(s => Cast(new DeleteOp(ns, k, s)))))),
            (8, Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Namespace(m), n)).SelectMany(names => EngineArbitraries.WriteBatches(names)
                .SelectMany(b => Sync().Select(s => Cast(new BatchOp(b, s)))))),
            (12, Namespace(m).SelectMany(ns => Key(m, ns).Select(k => Cast(new GetOp(ns, k))))),
            (8, Namespace(m).SelectMany(ns => Bound(m, ns).SelectMany(from => Bound(m, ns).SelectMany(to => Gen.Frequency(
                (9, Gen.Constant(Cast(Ordered(ns, from, to)))),
                (1, Gen.Constant(Cast(new ScanOp(ns, from, to))))))))),
            (4, Namespace(m).SelectMany(ns => Key(m, ns).Select(p => Cast(new ScanPrefixOp(ns, p))))),
            (2, Gen.Frequency((1, ExistingNamespace(m)), (1, EngineArbitraries.NamespaceNames())).Select(ns => Cast(new TryGetNamespaceOp(ns)))),
            (3, Op(new FlushOp())),
            (2, Op(new CompactOp())),
            (3, Op(new ReopenOp())),
            (2, Gen.Elements(s_revocationCodes).Select(c => Cast(new RevokeCmekOp(c)))),
            (1, Op(new MakeCmekTransientOp())),
            (cmekDown ? 8 : 1, Op(new RestoreCmekOp())),
            (cmekDown || m.State != ModelState.Open ? 6 : 2, Op(new CheckCmekOp())),
            (m.State == ModelState.Locked ? 3 : 1, Op(new UnlockOp())),
        };
        choices.AddRange(KeyCommands(m));
        choices.AddRange(ReadCommands.Generate(m, backend, Key, Namespace, Bound)); // point reads, cursors, snapshots, read-only reopens
        if (m.State == ModelState.Open && !cmekDown)
        {
            choices.Add((1, Namespace(m).Select(ns => Cast(new ScanAcrossLockOp(ns)))));
        }
        if (maxManyNamespaces > 0 && m.Namespaces.Count < maxManyNamespaces)
        {
            choices.Add((1, Gen.Frequency((3, Gen.Constant("bulk")), (1, EngineArbitraries.NamespaceNames().Where(n => n.Length <= 40)))
                .SelectMany(prefix => Gen.Choose(maxManyNamespaces / 2, maxManyNamespaces).Select(n => Cast(new CreateNamespacesOp(prefix, n))))));
        }
        if (backend == StoreBackend.Directory)
        {
            choices.Add((1, Op(new VerifyOp())));
            choices.Add((1, NamespaceMoveOp.Generate(m, ExistingNamespace)));
            if (m.State == ModelState.Open && m.Cmek == TestCmekAvailability.Available)
            {
                choices.Add((1, Op(new BackupRestoreOp())));
            }
            if (crashes && m.Serving && !cmekDown)
            {
                choices.Add((2, CrashOp.Generate(m, Key, Namespace)));
            }
        }
        return Gen.Frequency([.. choices]);
    }

    /// <summary>Chunks of halving size first (fast on long runs), then single commands, then simpler commands.</summary>
    public override IEnumerable<FSharpList<Operation<StoreHarness, StoreModel>>> ShrinkOperations(FSharpList<Operation<StoreHarness, StoreModel>> s)
    {
        Operation<StoreHarness, StoreModel>[] ops = [.. s];
        for (int chunk = ops.Length / 2; chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start + chunk <= ops.Length; start += chunk)
            {
                yield return ListModule.OfSeq(ops.Take(start).Concat(ops.Skip(start + chunk)));
            }
        }
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i] is StoreOp op)
            {
                foreach (StoreOp simpler in op.Shrink())
                {
                    Operation<StoreHarness, StoreModel>[] copy = [.. ops];
                    copy[i] = simpler;
                    yield return ListModule.OfSeq(copy);
                }
            }
        }
    }

    /// <summary>Bulk import, namespace deletion and the key rotation verbs.</summary>
    private static IEnumerable<(int, Gen<Operation<StoreHarness, StoreModel>>)> KeyCommands(StoreModel m)
    {
        Gen<KeyValuePair<byte[], byte[]>> entry(string ns) => Key(m, ns).Where(k => !StoreModel.KeyTooLong(k))
            .SelectMany(k => EngineArbitraries.Values().Select(v => KeyValuePair.Create(k, v)));
        yield return (3, Namespace(m).SelectMany(ns => Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(entry(ns), n))
            .SelectMany(entries => Gen.Elements(true, false).Select(small => Cast(new BulkImportOp(ns, entries, small))))));
        yield return (2, Gen.Frequency((6, ExistingNamespace(m)), (1, EngineArbitraries.NamespaceNames())).Select(ns => Cast(new DeleteNamespaceOp(ns))));
        yield return (1, Op(new RotateCmekOp()));
        yield return (1, Op(new RotateRootKeyOp()));
        yield return (2, Gen.Frequency((3, ExistingNamespace(m).Select(ns => (string?)ns)), (1, Gen.Constant<string?>(null)))
            .SelectMany(ns => Gen.Frequency((7, Gen.Constant(false)), (1, Gen.Constant(true))).Select(wait => Cast(new RotateKekOp(ns, wait)))));
        yield return (1, Gen.Frequency((3, ExistingNamespace(m).Select(ns => (string?)ns)), (1, Gen.Constant<string?>(null)))
            .Select(ns => Cast(new RotateDataKeysOp(ns))));
        yield return (1, Op(new KeyStatusOp()));
    }

    private static Operation<StoreHarness, StoreModel> Cast(StoreOp op) => op;

    private static Gen<Operation<StoreHarness, StoreModel>> Op(StoreOp op) => Gen.Constant(Cast(op));

    private static Gen<bool> Sync() => Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)));

    private static ScanOp Ordered(string ns, byte[]? from, byte[]? to) =>
        from is not null && to is not null && ByteArrayComparer.Instance.Compare(from, to) > 0 ? new ScanOp(ns, to, from) : new ScanOp(ns, from, to);

    private static Gen<string> ExistingNamespace(StoreModel m) =>
        m.Namespaces.IsEmpty ? EngineArbitraries.NamespaceNames() : Gen.Elements(m.Namespaces.Keys.ToArray());

    /// <summary>Mostly a namespace the model has (so keys accumulate), sometimes a new one.</summary>
    private static Gen<string> Namespace(StoreModel m) => m.Namespaces.IsEmpty
        ? EngineArbitraries.NamespaceNames()
        : Gen.Frequency((m.Namespaces.Count < 4 ? 6 : 12, ExistingNamespace(m)), (1, EngineArbitraries.NamespaceNames()));

    /// <summary>An existing key (overwrites, deletes, hits), a key derived from one (prefix, +0xFF, +0x00), or a new one.</summary>
    private static Gen<byte[]> Key(StoreModel m, string ns)
    {
        byte[][] keys = [.. m.Entries(ns).Keys];
        if (keys.Length == 0)
        {
            return EngineArbitraries.Keys();
        }
        return Gen.Frequency(
            (5, Gen.Elements(keys)),
            (2, Gen.Elements(keys).SelectMany(k => Gen.Elements<Func<byte[], byte[]>>(
                key => key.Length == 0 ? key : key[..^1],
                key => [.. key, 0xFF],
                key => [.. key, 0x00],
                key => [.. key, 0xFF, 0xFF, 0xFF]).Select(f => f(k)))),
            (5, EngineArbitraries.Keys()));
    }

    /// <summary>Scan bounds: open, a key of the namespace or one derived from it, runs of 0xFF, generated keys.</summary>
    private static Gen<byte[]?> Bound(StoreModel m, string ns) => Gen.Frequency(
        (2, Gen.Constant<byte[]?>(null)),
        (4, Key(m, ns).Select(k => (byte[]?)k)),
        (2, Gen.Choose(1, 6).Select(n => (byte[]?)Enumerable.Repeat((byte)0xFF, n).ToArray())));

    /// <summary>Setup of one run: a fresh harness per run, the initial model.</summary>
    private sealed class HarnessSetup(StoreSetup setup) : Setup<StoreHarness, StoreModel>
    {
        public override StoreHarness Actual() => new(setup);

        public override StoreModel Model() => StoreModel.Initial(setup);

        public override string ToString() => setup.ToString();
    }
}
