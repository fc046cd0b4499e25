using System.Globalization;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>Put of one key (the namespace is created on first use); a key over the limit is refused.</summary>
internal sealed class PutOp(string ns, byte[] key, byte[] value, bool sync) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        !model.Serving ? model
        : StoreModel.KeyTooLong(key) ? model.WithNamespace(ns).TouchedOnly(ns)
        : model.Put(ns, key, value).TouchedOnly(ns);

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        ModelCheck.CallWithKey(expected, ToString(), key, () => harness.Store.GetNamespace(ns), n => n.Put(key, value, sync));

    public override IEnumerable<StoreOp> Shrink() =>
        EngineArbitraries.ShrinkBytes(value).Select(v => new PutOp(ns, key, v, sync))
            .Concat(EngineArbitraries.ShrinkBytes(key).Select(k => new PutOp(ns, k, value, sync)))
            .Concat(sync ? [new PutOp(ns, key, value, false)] : []);

    public override string ToString() => $"Put({Show.Name(ns)}, {Show.Bytes(key)}, {Show.Bytes(value)}{(sync ? ", sync" : string.Empty)})";
}

/// <summary>Delete of one key, present or absent.</summary>
internal sealed class DeleteOp(string ns, byte[] key, bool sync) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        !model.Serving ? model
        : StoreModel.KeyTooLong(key) ? model.WithNamespace(ns).TouchedOnly(ns)
        : model.Delete(ns, key).TouchedOnly(ns);

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        ModelCheck.CallWithKey(expected, ToString(), key, () => harness.Store.GetNamespace(ns), n => n.Delete(key, sync));

    public override IEnumerable<StoreOp> Shrink() => EngineArbitraries.ShrinkBytes(key).Select(k => new DeleteOp(ns, k, sync));

    public override string ToString() => $"Delete({Show.Name(ns)}, {Show.Bytes(key)}{(sync ? ", sync" : string.Empty)})";
}

/// <summary>An atomic write batch across namespaces (later operations on a key win).</summary>
internal sealed class BatchOp(WriteBatchSpec batch, bool sync) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        model.Serving ? model.Apply(batch).TouchedOnly(batch.Namespaces) : model;

    protected override void Execute(StoreHarness harness, StoreModel expected) =>
        ModelCheck.Call(expected, ToString(), () => batch.WriteTo(harness.Store, sync));

    public override IEnumerable<StoreOp> Shrink()
    {
        IReadOnlyList<BatchOperation> ops = batch.Operations;
        for (int i = 0; i < ops.Count; i++)
        {
            yield return new BatchOp(new WriteBatchSpec([.. ops.Take(i), .. ops.Skip(i + 1)]), sync);
        }
    }

    public override string ToString() => $"Batch({batch}{(sync ? ", sync" : string.Empty)})";
}

/// <summary>Point read; the value must be the model's (null for an absent key).</summary>
internal sealed class GetOp(string ns, byte[] key) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        model.Serving ? model.WithNamespace(ns).TouchedOnly(ns) : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        byte[]? value = null;
        ModelCheck.CallWithKey(expected, ToString(), key, () => harness.Store.GetNamespace(ns), n => value = n.Get(key));
        if (expected.Serving && !StoreModel.KeyTooLong(key))
        {
            ModelCheck.SameValue(value, expected.Entries(ns).GetValueOrDefault(key), ToString());
        }
    }

    public override IEnumerable<StoreOp> Shrink() => EngineArbitraries.ShrinkBytes(key).Select(k => new GetOp(ns, k));

    public override string ToString() => $"Get({Show.Name(ns)}, {Show.Bytes(key)})";
}

/// <summary>Range scan [from, to) with open (null) bounds; reversed bounds must be refused.</summary>
internal sealed class ScanOp(string ns, byte[]? from, byte[]? to) : StoreOp
{
    private bool Reversed => from is not null && to is not null && ByteArrayComparer.Instance.Compare(from, to) > 0;

    protected override StoreModel Next(StoreModel model) =>
        model.Serving ? model.WithNamespace(ns).TouchedOnly(ns) : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.GetNamespace(ns), ToString());
            return;
        }
        StoreNamespace store = harness.Store.GetNamespace(ns);
        if (Reversed)
        {
            ModelCheck.Expect<ArgumentException>(() => store.Scan(from, to), ToString());
            return;
        }
        var comparer = ByteArrayComparer.Instance;
        IEnumerable<KeyValuePair<byte[], byte[]>> range = expected.Entries(ns)
            .Where(kv => (from is null || comparer.Compare(kv.Key, from) >= 0) && (to is null || comparer.Compare(kv.Key, to) < 0));
        ModelCheck.SameEntries(store.Scan(from, to), range, ToString());
    }

    public override string ToString() => $"Scan({Show.Name(ns)}, from {Show.Bytes(from)}, to {Show.Bytes(to)})";
}

/// <summary>Prefix scan.</summary>
internal sealed class ScanPrefixOp(string ns, byte[] prefix) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        model.Serving ? model.WithNamespace(ns).TouchedOnly(ns) : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.GetNamespace(ns), ToString());
            return;
        }
        IEnumerable<KeyValuePair<byte[], byte[]>> matching = expected.Entries(ns).Where(kv => kv.Key.AsSpan().StartsWith(prefix));
        ModelCheck.SameEntries(harness.Store.GetNamespace(ns).ScanPrefix(prefix), matching, ToString());
    }

    public override string ToString() => $"ScanPrefix({Show.Name(ns)}, {Show.Bytes(prefix)})";
}

/// <summary>TryGetNamespace never creates: true exactly for namespaces the model has.</summary>
internal sealed class TryGetNamespaceOp(string ns) : StoreOp
{
    protected override StoreModel Next(StoreModel model) => model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        bool found = false;
        ModelCheck.Call(expected, ToString(), () => found = harness.Store.TryGetNamespace(ns, out _));
        if (expected.Serving)
        {
            bool exists = expected.Namespaces.ContainsKey(ns) || expected.OpaqueNamespaces.Contains(ns);
            ModelCheck.That(found == exists, $"{this} returned {found}, the model says {exists}");
        }
    }

    public override string ToString() => $"TryGetNamespace({Show.Name(ns)})";
}

/// <summary>Creates <c>count</c> namespaces (hundreds) in one command, each with its own key and column family.</summary>
internal sealed class CreateNamespacesOp(string prefix, int count) : StoreOp
{
    private IEnumerable<string> Names => Enumerable.Range(0, count).Select(i => prefix + "#" + i.ToString("D3", CultureInfo.InvariantCulture));

    protected override StoreModel Next(StoreModel model) =>
        model.Serving ? Names.Aggregate(model, (m, n) => m.WithNamespace(n)).TouchedOnly() : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.GetNamespace(Names.First()), ToString());
            return;
        }
        foreach (string name in Names)
        {
            harness.Store.GetNamespace(name);
        }
    }

    public override IEnumerable<StoreOp> Shrink() => count > 1 ? [new CreateNamespacesOp(prefix, count / 2)] : [];

    public override string Kind => "CreateNamespaces";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"CreateNamespaces({Show.Name(prefix)}#000..#{count - 1:D3})");
}

/// <summary>
/// Bulk import into one namespace: atomic, last entry of a key wins, existing values replaced. A small
/// memory budget makes larger imports spill sorted runs to encrypted temp files.
/// </summary>
internal sealed class BulkImportOp(string ns, IReadOnlyList<KeyValuePair<byte[], byte[]>> entries, bool smallBudget) : StoreOp
{
    protected override StoreModel Next(StoreModel model) =>
        !model.Serving ? model
        : entries.Aggregate(model.WithNamespace(ns), (m, e) => m.Put(ns, e.Key, e.Value)).TouchedOnly(ns);

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        var options = new BulkImportOptions { MemoryBudgetBytes = smallBudget ? BulkImportOptions.MinMemoryBudgetBytes : BulkImportOptions.DefaultMemoryBudgetBytes };
        ModelCheck.Call(expected, ToString(), () => harness.Store.GetNamespace(ns).BulkImport(entries, options));
    }

    public override IEnumerable<StoreOp> Shrink()
    {
        if (entries.Count > 1)
        {
            yield return new BulkImportOp(ns, [.. entries.Take(entries.Count / 2)], smallBudget);
            yield return new BulkImportOp(ns, [.. entries.Skip(entries.Count / 2)], smallBudget);
        }
        if (smallBudget)
        {
            yield return new BulkImportOp(ns, entries, false);
        }
    }

    public override string ToString()
    {
        string shown = string.Join("; ", entries.Take(4).Select(e => $"{Show.Bytes(e.Key)}={Show.Bytes(e.Value)}"));
        string more = entries.Count > 4 ? string.Create(CultureInfo.InvariantCulture, $"; +{entries.Count - 4} more") : string.Empty;
        return $"BulkImport({Show.Name(ns)}, [{shown}{more}]{(smallBudget ? ", 256 KiB budget" : string.Empty)})";
    }
}
