using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using Engine.Testing;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>The point-read API a <see cref="PointReadOp"/> calls.</summary>
internal enum PointReadKind
{
    /// <summary><see cref="StoreNamespace.Get(ReadOnlySpan{byte}, StoreSnapshot)"/>.</summary>
    Get,

    /// <summary><see cref="StoreNamespace.TryGet(ReadOnlySpan{byte}, Span{byte}, out int, StoreSnapshot)"/> into a span with room to spare.</summary>
    TryGetSpan,

    /// <summary>The span overload with a destination one byte too short: the length is reported, nothing copied.</summary>
    TryGetShortSpan,

    /// <summary><see cref="StoreNamespace.TryGet(ReadOnlySpan{byte}, IBufferWriter{byte}, StoreSnapshot)"/>.</summary>
    TryGetWriter,

    /// <summary><see cref="StoreNamespace.Contains"/>.</summary>
    Contains,

    /// <summary><see cref="StoreNamespace.MultiGet"/> of all the keys at once.</summary>
    MultiGet,
}

/// <summary>
/// Point reads of a few keys (present, absent, derived from present ones) with one of the read APIs, on
/// the latest data or through a snapshot: every answer must equal the model's (at snapshot time). A key
/// over the limit is refused with <see cref="ArgumentException"/>; a snapshot a lock released throws
/// <see cref="StoreLockedException"/>, one the store's close released <see cref="ArgumentException"/>
/// (it belongs to the closed store object, not the reopened one).
/// </summary>
internal sealed class PointReadOp(string ns, PointReadKind kind, IReadOnlyList<byte[]> keys, int? snapshotId) : StoreOp
{
    private const byte Filler = 0xA5;
    private const byte Marker = 0x42;

    public override bool Pre(StoreModel model) => base.Pre(model) && (snapshotId is null || model.Snapshots.ContainsKey(snapshotId.Value));

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
        StoreSnapshot? snapshot = snapshotId is int id ? harness.Snapshots[id] : null;
        SnapshotModel? view = snapshotId is int sid ? expected.Snapshots[sid] : null;
        ImmutableSortedDictionary<byte[], byte[]> entries = view is null ? expected.Entries(ns) : view.Entries(ns);
        SnapshotOps.ReadThrough(view, keys.Any(StoreModel.KeyTooLong), () => Read(store, snapshot, entries), ToString());
    }

    private void Read(StoreNamespace store, StoreSnapshot? snapshot, ImmutableSortedDictionary<byte[], byte[]> entries)
    {
        if (kind == PointReadKind.MultiGet)
        {
            byte[]?[] values = store.MultiGet(keys, snapshot);
            ModelCheck.That(values.Length == keys.Count, string.Create(CultureInfo.InvariantCulture, $"{this} returned {values.Length} values for {keys.Count} keys"));
            for (int i = 0; i < keys.Count; i++)
            {
                ModelCheck.SameValue(values[i], entries.GetValueOrDefault(keys[i]), string.Create(CultureInfo.InvariantCulture, $"{this}, key #{i} {Show.Bytes(keys[i])}"));
            }
            return;
        }
        foreach (byte[] key in keys)
        {
            byte[]? value = entries.GetValueOrDefault(key);
            string what = $"{this} at {Show.Bytes(key)}";
            switch (kind)
            {
                case PointReadKind.Get:
                    ModelCheck.SameValue(store.Get(key, snapshot), value, what);
                    break;
                case PointReadKind.Contains:
                    bool contains = store.Contains(key, snapshot);
                    ModelCheck.That(contains == (value is not null), $"{what}: Contains returned {contains}, the model has {Show.Bytes(value)}");
                    break;
                case PointReadKind.TryGetWriter:
                    var writer = new ArrayBufferWriter<byte>();
                    writer.Write([Marker]); // what the caller wrote before stays, the value follows it
                    bool written = store.TryGet(key, writer, snapshot);
                    ModelCheck.That(written == (value is not null), $"{what}: TryGet(IBufferWriter) returned {written}, the model has {Show.Bytes(value)}");
                    ModelCheck.That(writer.WrittenSpan[0] == Marker, $"{what}: TryGet(IBufferWriter) overwrote what the writer held");
                    ModelCheck.SameValue(value is null && writer.WrittenCount == 1 ? null : writer.WrittenSpan[1..].ToArray(), value, what);
                    break;
                default:
                    TryGetSpan(store, snapshot, key, value, what);
                    break;
            }
        }
    }

    private void TryGetSpan(StoreNamespace store, StoreSnapshot? snapshot, byte[] key, byte[]? value, string what)
    {
        bool shortBuffer = kind == PointReadKind.TryGetShortSpan && value is { Length: > 0 };
        int size = value is null ? 3 : shortBuffer ? value.Length - 1 : value.Length + 3;
        byte[] destination = new byte[size];
        destination.AsSpan().Fill(Filler);
        bool found = store.TryGet(key, destination, out int length, snapshot);
        ModelCheck.That(found == (value is not null), $"{what}: TryGet(Span) returned {found}, the model has {Show.Bytes(value)}");
        int expectedLength = value?.Length ?? 0;
        ModelCheck.That(length == expectedLength, string.Create(CultureInfo.InvariantCulture, $"{what}: TryGet(Span) reported length {length}, the model's value has {expectedLength} B"));
        int copied = shortBuffer ? 0 : expectedLength;
        if (value is not null && !shortBuffer)
        {
            ModelCheck.SameValue(destination[..copied], value, what);
        }
        ModelCheck.That(destination.AsSpan(copied).IndexOfAnyExcept(Filler) < 0,
            $"{what}: TryGet(Span) wrote past the value{(shortBuffer ? " into a destination too short for it" : string.Empty)}");
    }

    public override IEnumerable<StoreOp> Shrink()
    {
        if (keys.Count > 1)
        {
            yield return new PointReadOp(ns, kind, [.. keys.Take(keys.Count / 2)], snapshotId);
            yield return new PointReadOp(ns, kind, [.. keys.Skip(keys.Count / 2)], snapshotId);
        }
        if (kind != PointReadKind.Get && keys.Count > 0) // Get of no keys calls nothing
        {
            yield return new PointReadOp(ns, PointReadKind.Get, keys, snapshotId);
        }
    }

    public override string Kind => snapshotId is null ? kind.ToString() : kind + "@Snapshot";

    public override string ToString()
    {
        string shown = string.Join(", ", keys.Take(4).Select(Show.Bytes));
        string more = keys.Count > 4 ? string.Create(CultureInfo.InvariantCulture, $", +{keys.Count - 4} more") : string.Empty;
        string at = snapshotId is int id ? string.Create(CultureInfo.InvariantCulture, $", snapshot #{id}") : string.Empty;
        return $"{kind}({Show.Name(ns)}, [{shown}{more}]{at})";
    }
}

/// <summary>
/// Generators of the read-API commands (point reads, cursors, snapshots, read-only reopens), with
/// weights that give each a few percent of a run; the key, namespace and bound generators are the
/// machine's.
/// </summary>
internal static class ReadCommands
{
    public static IEnumerable<(int, Gen<Operation<StoreHarness, StoreModel>>)> Generate(
        StoreModel m, StoreBackend backend, Func<StoreModel, string, Gen<byte[]>> key, Func<StoreModel, Gen<string>> ns, Func<StoreModel, string, Gen<byte[]?>> bound)
    {
        yield return (6, ns(m).SelectMany(n => PointRead(n, key(m, n), null)));
        yield return (6, ns(m).SelectMany(n => Cursor(m, n, key(m, n), bound(m, n), null)));
        if (m.Snapshots.Count(s => s.Value.Status == SnapshotStatus.Live) < 3)
        {
            yield return (3, Gen.Constant(Cast(new CreateSnapshotOp())));
        }
        if (!m.Snapshots.IsEmpty)
        {
            int[] ids = [.. m.Snapshots.Keys];
            Gen<(int Id, SnapshotModel Snapshot, string Ns)> target = Gen.Elements(ids).SelectMany(id =>
            {
                SnapshotModel s = m.Snapshots[id];
                Gen<string> name = s.Namespaces.IsEmpty ? ns(m) : Gen.Frequency((3, Gen.Elements(s.Namespaces.Keys.ToArray())), (1, ns(m)));
                return name.Select(n => (id, s, n));
            });
            yield return (2, Gen.Elements(ids).Select(id => Cast(new ReleaseSnapshotOp(id, m.Snapshots[id].Status))));
            yield return (6, target.SelectMany(t => PointRead(t.Ns, SnapshotKey(t.Snapshot, t.Ns, key(m, t.Ns)), t.Id)));
            yield return (5, target.SelectMany(t => Cursor(m, t.Ns, SnapshotKey(t.Snapshot, t.Ns, key(m, t.Ns)), bound(m, t.Ns), t.Id)));
            yield return (3, target.SelectMany(t => bound(m, t.Ns).SelectMany(from => bound(m, t.Ns).Select(to => Cast(Ordered(t.Id, t.Ns, from, to))))));
        }
        if (m.State == ModelState.Open && m.Cmek == TestCmekAvailability.Available)
        {
            yield return (1, ns(m).Select(n => Cast(new CursorAcrossLockOp(n))));
        }
        if (backend == StoreBackend.Directory && m.State != ModelState.Closed && m.Cmek == TestCmekAvailability.Available)
        {
            yield return (2, Gen.Elements(true, false).SelectMany(useAsync => EngineArbitraries.NamespaceNames().Select(n => Cast(new ReadOnlyReopenOp(useAsync, n)))));
        }
    }

    private static Gen<Operation<StoreHarness, StoreModel>> PointRead(string ns, Gen<byte[]> key, int? snapshotId) =>
        Gen.Elements(Enum.GetValues<PointReadKind>()).SelectMany(kind =>
            Gen.Choose(kind == PointReadKind.MultiGet ? 0 : 1, 6).SelectMany(n => Gen.ArrayOf(key, n))
                .Select(keys => Cast(new PointReadOp(ns, kind, keys, snapshotId))));

    private static Gen<Operation<StoreHarness, StoreModel>> Cursor(StoreModel m, string ns, Gen<byte[]> key, Gen<byte[]?> bound, int? snapshotId)
    {
        Gen<byte[]?> prefix = Gen.Frequency(
            (4, Gen.Constant<byte[]?>(null)),
            (4, key.SelectMany(k => Gen.Choose(0, Math.Min(k.Length, 8)).Select(len => (byte[]?)k[..len]))),
            (1, Gen.Choose(1, 3).Select(n => (byte[]?)Enumerable.Repeat((byte)0xFF, n).ToArray())));
        Gen<CursorWrite?> write = Gen.Frequency(
            (3, Gen.Constant<CursorWrite?>(null)),
            (1, key.SelectMany(k => Gen.Frequency((3, EngineArbitraries.Values().Select(v => (byte[]?)v)), (1, Gen.Constant<byte[]?>(null)))
                .Select(v => (CursorWrite?)new CursorWrite(k, v, m.Serving ? m.Entries(ns).GetValueOrDefault(k) : null)))));
        // Mostly ordered bounds (reversed ones are refused unless a prefix is set).
        Gen<(byte[]? Lower, byte[]? Upper)> bounds = bound.SelectMany(a => bound.Select(b =>
            a is not null && b is not null && ByteArrayComparer.Instance.Compare(a, b) > 0 ? (b, a) : (a, b)));
        Gen<(byte[]? Lower, byte[]? Upper)> anyBounds = Gen.Frequency(
            (3, Gen.Constant<(byte[]?, byte[]?)>((null, null))),
            (6, bounds),
            (1, bound.SelectMany(a => bound.Select(b => (a, b)))));
        return anyBounds.SelectMany(b => prefix.SelectMany(p => CursorWalkOp.Moves(key).SelectMany(moves => write.Select(w =>
            Cast(new CursorWalkOp(ns, b.Lower, b.Upper, p, snapshotId, moves, snapshotId is null ? w : null))))));
    }

    /// <summary>Keys the snapshot has in <paramref name="ns"/> (many deleted or changed since), or keys of the current model.</summary>
    private static Gen<byte[]> SnapshotKey(SnapshotModel snapshot, string ns, Gen<byte[]> current)
    {
        byte[][] keys = [.. snapshot.Entries(ns).Keys];
        return keys.Length == 0 ? current : Gen.Frequency((3, Gen.Elements(keys)), (2, current));
    }

    private static SnapshotScanOp Ordered(int id, string ns, byte[]? from, byte[]? to) =>
        from is not null && to is not null && ByteArrayComparer.Instance.Compare(from, to) > 0 && (from.Length + to.Length) % 8 != 0
            ? new SnapshotScanOp(id, ns, to, from)
            : new SnapshotScanOp(id, ns, from, to);

    private static Operation<StoreHarness, StoreModel> Cast(StoreOp op) => op;
}
