using System.Globalization;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>
/// Takes a snapshot of the whole store; the model keeps a copy of every namespace as it is now. Refused
/// with <see cref="StoreLockedException"/> while locked.
/// </summary>
internal sealed class CreateSnapshotOp : StoreOp
{
    protected override StoreModel Next(StoreModel model) => !model.Serving ? model : model with
    {
        Snapshots = model.Snapshots.Add(model.NextSnapshotId, new SnapshotModel(model.Namespaces, SnapshotStatus.Live)),
        NextSnapshotId = model.NextSnapshotId + 1,
    };

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.CreateSnapshot().Dispose(), ToString());
            return;
        }
        harness.Snapshots.Add(expected.NextSnapshotId - 1, harness.Store.CreateSnapshot());
    }

    public override string ToString() => "CreateSnapshot";
}

/// <summary>
/// Disposes a snapshot (<paramref name="status"/> is the model's at generation time): harmless and
/// idempotent whether it is live or a lock or close released it; afterwards a read through it on its own
/// store throws <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class ReleaseSnapshotOp(int id, SnapshotStatus status) : StoreOp
{
    public override bool Pre(StoreModel model) => base.Pre(model) && model.Snapshots.TryGetValue(id, out SnapshotModel? s) && s.Status == status;

    protected override StoreModel Next(StoreModel model) => model with { Snapshots = model.Snapshots.Remove(id) };

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        StoreSnapshot snapshot = harness.Snapshots[id];
        harness.Snapshots.Remove(id);
        snapshot.Dispose();
        snapshot.Dispose();
        if (expected.Serving && status != SnapshotStatus.ReleasedByClose && expected.Namespaces.Keys.FirstOrDefault() is string name)
        {
            StoreNamespace ns = harness.Store.GetNamespace(name);
            ModelCheck.Expect<ObjectDisposedException>(() => ns.Get([], snapshot), $"{this}: a read through the disposed snapshot");
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"ReleaseSnapshot(#{id}, {status})");
}

/// <summary>Range scan [from, to) through a snapshot: the model's entries at snapshot time.</summary>
internal sealed class SnapshotScanOp(int id, string ns, byte[]? from, byte[]? to) : StoreOp
{
    public override bool Pre(StoreModel model) => base.Pre(model) && model.Snapshots.ContainsKey(id);

    protected override StoreModel Next(StoreModel model) => model.Serving ? model.WithNamespace(ns).TouchedOnly(ns) : model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.GetNamespace(ns), ToString());
            return;
        }
        StoreNamespace store = harness.Store.GetNamespace(ns);
        StoreSnapshot snapshot = harness.Snapshots[id];
        if (from is not null && to is not null && ByteArrayComparer.Instance.Compare(from, to) > 0)
        {
            ModelCheck.Expect<ArgumentException>(() => store.Scan(from, to, snapshot), ToString());
            return;
        }
        SnapshotModel view = expected.Snapshots[id];
        var comparer = ByteArrayComparer.Instance;
        IEnumerable<KeyValuePair<byte[], byte[]>> range = view.Entries(ns)
            .Where(kv => (from is null || comparer.Compare(kv.Key, from) >= 0) && (to is null || comparer.Compare(kv.Key, to) < 0));
        SnapshotOps.ReadThrough(view, false, () => ModelCheck.SameEntries(store.Scan(from, to, snapshot), range, ToString()), ToString());
    }

    public override string Kind => "Scan@Snapshot";

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Scan({Show.Name(ns)}, from {Show.Bytes(from)}, to {Show.Bytes(to)}, snapshot #{id})");
}

/// <summary>Shared expectations of reads that may go through a snapshot.</summary>
internal static class SnapshotOps
{
    /// <summary>
    /// Runs <paramref name="read"/> (which compares with the model itself) when it must succeed; otherwise
    /// expects its refusal: a key over the limit first (<see cref="ArgumentException"/>), then a snapshot a
    /// lock released (<see cref="StoreLockedException"/>) or a close released (the reopened store is
    /// another store object: <see cref="ArgumentException"/>).
    /// </summary>
    public static void ReadThrough(SnapshotModel? view, bool keyTooLong, Action read, string what)
    {
        if (keyTooLong)
        {
            ModelCheck.Expect<ArgumentException>(read, what);
        }
        else if (view?.Status == SnapshotStatus.ReleasedByLock)
        {
            ModelCheck.ExpectLocked(read, $"{what} through a snapshot a lock released");
        }
        else if (view?.Status == SnapshotStatus.ReleasedByClose)
        {
            var refused = ModelCheck.Expect<ArgumentException>(read, $"{what} through a snapshot of the store before it was closed");
            ModelCheck.That(refused.Message.Contains("another store", StringComparison.Ordinal), $"{what}: refused with '{refused.Message}'");
        }
        else
        {
            read();
        }
    }
}
