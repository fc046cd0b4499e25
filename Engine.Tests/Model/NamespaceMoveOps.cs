using Engine.Testing;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>
/// A namespace move through the store itself (Engine/Moves): exports <c>ns</c> for the store's own CMEK,
/// imports the export as <c>to</c>, and with <c>deleteSource</c> deletes <c>ns</c> afterwards (a rename by
/// move). The copy must equal the model's namespace at the time of the export. Refused with
/// <see cref="ArgumentException"/> when <c>ns</c> is absent or <c>to</c> exists, with
/// <see cref="KeyUnavailableException"/> when the CMEK cannot wrap the transfer key; nothing changes then.
/// Directory stores only (an in-memory store cannot move namespaces).
/// </summary>
internal sealed class NamespaceMoveOp(string ns, string to, bool deleteSource) : StoreOp
{
    public static Gen<Operation<StoreHarness, StoreModel>> Generate(StoreModel m, Func<StoreModel, Gen<string>> existingNamespace) =>
        existingNamespace(m).SelectMany(ns => Gen.Frequency(
                (6, EngineArbitraries.NamespaceNames().Select(n => "moved-" + n[..Math.Min(n.Length, 60)])),
                (1, existingNamespace(m)))
            .SelectMany(to => Gen.Elements(true, false).Select(delete => (Operation<StoreHarness, StoreModel>)new NamespaceMoveOp(ns, to, delete))));

    protected override StoreModel Next(StoreModel model)
    {
        if (!model.Serving)
        {
            return model;
        }
        if (!model.HasNamespace(ns) || (model.Cmek == TestCmekAvailability.Available && model.HasNamespace(to)))
        {
            return model with { Refused = true };
        }
        if (model.Cmek != TestCmekAvailability.Available)
        {
            return model;
        }
        StoreModel m = model.OpaqueNamespaces.Contains(ns)
            ? model with { OpaqueNamespaces = model.OpaqueNamespaces.Add(to) }
            : model with { Namespaces = model.Namespaces.SetItem(to, model.Entries(ns)) };
        m = deleteSource ? m.WithoutNamespace(ns) : m;
        return m.TouchedOnly(ns, to);
    }

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ekv-model-move-" + Guid.NewGuid().ToString("N"));
        try
        {
            void Move()
            {
                harness.Store.ExportNamespaceAsync(ns, dir, harness.Cmek).GetAwaiter().GetResult();
                harness.Store.ImportNamespaceAsync(dir, to).GetAwaiter().GetResult();
                if (deleteSource)
                {
                    harness.Store.DeleteNamespace(ns);
                }
            }

            if (expected.Serving && !expected.Refused && expected.Cmek != TestCmekAvailability.Available)
            {
                ModelCheck.Expect<KeyUnavailableException>(Move, ToString());
                ModelCheck.That(!harness.Store.TryGetNamespace(to, out _) || expected.HasNamespace(to), $"{this}: a refused move created '{to}'");
                return;
            }
            KeyOps.Call(expected, ToString(), Move);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    public override IEnumerable<StoreOp> Shrink()
    {
        if (deleteSource)
        {
            yield return new NamespaceMoveOp(ns, to, false);
        }
    }

    public override string ToString() => $"NamespaceMove({Show.Name(ns)} -> {Show.Name(to)}{(deleteSource ? ", delete source" : string.Empty)})";
}
