using System.Collections.Immutable;
using System.Globalization;
using Engine.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>What one step of a <see cref="CursorWalkOp"/> does.</summary>
internal enum CursorMoveKind
{
    SeekToFirst,
    SeekToLast,
    Seek,
    SeekForPrev,
    Next,
    Prev,

    /// <summary>SeekToFirst, then Next until the end: the whole view, in order.</summary>
    WalkForward,

    /// <summary>SeekToLast, then Prev until the start: the whole view, in reverse.</summary>
    WalkBackward,
}

/// <summary>One step of a cursor walk; <see cref="Target"/> for the seeks.</summary>
internal sealed record CursorMove(CursorMoveKind Kind, byte[]? Target = null)
{
    public override string ToString() => Target is null ? Kind.ToString() : $"{Kind}({Show.Bytes(Target)})";
}

/// <summary>An optional write made after the cursor opened; <see cref="OldValue"/> is the model's value before it (null: absent).</summary>
internal sealed record CursorWrite(byte[] Key, byte[]? Value, byte[]? OldValue)
{
    public override string ToString() => Value is null ? $"then Delete({Show.Bytes(Key)})" : $"then Put({Show.Bytes(Key)}, {Show.Bytes(Value)})";
}

/// <summary>
/// Opens a cursor with bounds and/or a prefix (and optionally a snapshot), optionally writes one key
/// after it opened, then makes a sequence of moves: after each, validity, the returned flag, Key and
/// Value must equal the model's ordered view (keys in [lower, upper) starting with the prefix, bytewise
/// order, as of the snapshot or the cursor's open). Next/Prev off an entry throw
/// <see cref="InvalidOperationException"/>; reversed bounds without a prefix are refused with
/// <see cref="ArgumentException"/>; a prefix outside the bounds shows nothing.
/// </summary>
internal sealed class CursorWalkOp(string ns, byte[]? lower, byte[]? upper, byte[]? prefix, int? snapshotId, IReadOnlyList<CursorMove> moves, CursorWrite? write) : StoreOp
{
    public override bool Pre(StoreModel model) =>
        base.Pre(model)
        && (snapshotId is null || model.Snapshots.ContainsKey(snapshotId.Value))
        && (write is null || !model.Serving || ByteArrayComparer.Instance.Equals(model.Entries(ns).GetValueOrDefault(write.Key), write.OldValue));

    private bool Reversed => (prefix is null || prefix.Length == 0)
        && lower is not null && upper is not null && ByteArrayComparer.Instance.Compare(lower, upper) > 0;

    private bool WriteRefused => write is not null && StoreModel.KeyTooLong(write.Key);

    protected override StoreModel Next(StoreModel model)
    {
        if (!model.Serving)
        {
            return model;
        }
        model = model.WithNamespace(ns).TouchedOnly(ns);
        if (write is null || Reversed || WriteRefused || (snapshotId is int id && model.Snapshots[id].Status != SnapshotStatus.Live))
        {
            return model; // the cursor did not open, so the write is not made
        }
        return (write.Value is null ? model.Delete(ns, write.Key) : model.Put(ns, write.Key, write.Value)).TouchedOnly(ns);
    }

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        if (!expected.Serving)
        {
            ModelCheck.ExpectLocked(() => harness.Store.GetNamespace(ns), ToString());
            return;
        }
        StoreNamespace store = harness.Store.GetNamespace(ns);
        SnapshotModel? view = snapshotId is int id ? expected.Snapshots[id] : null;
        var options = new CursorOptions
        {
            LowerBound = (byte[]?)lower?.Clone(),
            UpperBound = (byte[]?)upper?.Clone(),
            Prefix = (byte[]?)prefix?.Clone(),
            Snapshot = snapshotId is int sid ? harness.Snapshots[sid] : null,
        };
        if (Reversed)
        {
            ModelCheck.Expect<ArgumentException>(() => store.OpenCursor(options).Dispose(), ToString());
            return;
        }
        if (view is not null && view.Status != SnapshotStatus.Live)
        {
            SnapshotOps.ReadThrough(view, false, () => store.OpenCursor(options).Dispose(), ToString());
            return;
        }
        ImmutableSortedDictionary<byte[], byte[]> entries = view?.Entries(ns) ?? BeforeWrite(expected.Entries(ns));
        KeyValuePair<byte[], byte[]>[] visible = [.. entries.Where(kv => InView(kv.Key))];

        using StoreCursor cursor = store.OpenCursor(options);
        // The cursor copied its bounds: changing the caller's arrays afterwards changes nothing.
        options.LowerBound?.AsSpan().Clear();
        options.UpperBound?.AsSpan().Clear();
        options.Prefix?.AsSpan().Fill(0xFF);
        if (write is not null)
        {
            if (WriteRefused)
            {
                ModelCheck.Expect<ArgumentException>(() => store.Put(write.Key, write.Value ?? []), ToString());
            }
            else if (write.Value is null)
            {
                store.Delete(write.Key);
            }
            else
            {
                store.Put(write.Key, write.Value);
            }
        }
        ModelCheck.That(!cursor.IsValid, $"{this}: a new cursor is valid before any move");
        int position = -1;
        for (int step = 0; step < moves.Count; step++)
        {
            CursorMove move = moves[step];
            string what = string.Create(CultureInfo.InvariantCulture, $"{this}, move #{step} {move}");
            switch (move.Kind)
            {
                case CursorMoveKind.WalkForward:
                    Walk(cursor, visible, forward: true, what);
                    position = -1;
                    continue;
                case CursorMoveKind.WalkBackward:
                    Walk(cursor, visible, forward: false, what);
                    position = -1;
                    continue;
                case CursorMoveKind.Next or CursorMoveKind.Prev when position < 0:
                    ModelCheck.Expect<InvalidOperationException>(() => Move(cursor, move), what + " on no entry");
                    ModelCheck.That(!cursor.IsValid, $"{what}: valid after a refused move");
                    continue;
            }
            position = Expected(visible, position, move);
            bool valid = Move(cursor, move);
            At(cursor, valid, visible, position, what);
        }
    }

    private static bool Move(StoreCursor cursor, CursorMove move) => move.Kind switch
    {
        CursorMoveKind.SeekToFirst => cursor.SeekToFirst(),
        CursorMoveKind.SeekToLast => cursor.SeekToLast(),
        CursorMoveKind.Seek => cursor.Seek(move.Target),
        CursorMoveKind.SeekForPrev => cursor.SeekForPrev(move.Target),
        CursorMoveKind.Next => cursor.Next(),
        _ => cursor.Prev(),
    };

    /// <summary>Index into <paramref name="visible"/> after <paramref name="move"/> from <paramref name="position"/>; -1: off the view.</summary>
    private static int Expected(KeyValuePair<byte[], byte[]>[] visible, int position, CursorMove move)
    {
        var comparer = ByteArrayComparer.Instance;
        int result = move.Kind switch
        {
            CursorMoveKind.SeekToFirst => 0,
            CursorMoveKind.SeekToLast => visible.Length - 1,
            CursorMoveKind.Seek => Array.FindIndex(visible, kv => comparer.Compare(kv.Key, move.Target) >= 0),
            CursorMoveKind.SeekForPrev => Array.FindLastIndex(visible, kv => comparer.Compare(kv.Key, move.Target) <= 0),
            CursorMoveKind.Next => position + 1,
            _ => position - 1,
        };
        return result >= 0 && result < visible.Length ? result : -1;
    }

    private static void At(StoreCursor cursor, bool valid, KeyValuePair<byte[], byte[]>[] visible, int position, string what)
    {
        ModelCheck.That(valid == cursor.IsValid, $"{what}: returned {valid}, IsValid is {cursor.IsValid}");
        if (position < 0)
        {
            ModelCheck.That(!valid, $"{what}: the cursor is on {Show.Bytes(valid ? cursor.Key.ToArray() : null)}, the model's view has no entry there");
            ModelCheck.Expect<InvalidOperationException>(() => _ = cursor.Key.Length, $"{what}: Key off an entry");
            return;
        }
        ModelCheck.That(valid, $"{what}: the cursor is on no entry, the model's view has {Show.Bytes(visible[position].Key)}");
        ModelCheck.That(cursor.Key.SequenceEqual(visible[position].Key), $"{what}: the cursor is on key {Show.Bytes(cursor.Key.ToArray())}, the model expects {Show.Bytes(visible[position].Key)}");
        ModelCheck.SameValue(cursor.Value.ToArray(), visible[position].Value, $"{what} (key {Show.Bytes(visible[position].Key)})");
    }

    private static void Walk(StoreCursor cursor, KeyValuePair<byte[], byte[]>[] visible, bool forward, string what)
    {
        var seen = new List<KeyValuePair<byte[], byte[]>>();
        for (bool ok = forward ? cursor.SeekToFirst() : cursor.SeekToLast(); ok; ok = forward ? cursor.Next() : cursor.Prev())
        {
            seen.Add(KeyValuePair.Create(cursor.Key.ToArray(), cursor.Value.ToArray()));
            ModelCheck.That(seen.Count <= visible.Length, $"{what}: the walk goes on past the model's {visible.Length} entries");
        }
        ModelCheck.SameEntries(seen, forward ? visible : visible.Reverse(), what);
        ModelCheck.That(!cursor.IsValid, $"{what}: valid after walking off the end");
    }

    private bool InView(byte[] key)
    {
        var comparer = ByteArrayComparer.Instance;
        return (lower is null || comparer.Compare(key, lower) >= 0)
            && (upper is null || comparer.Compare(key, upper) < 0)
            && (prefix is null || key.AsSpan().StartsWith(prefix));
    }

    /// <summary>The namespace before this command's write (what a cursor opened before it sees).</summary>
    private ImmutableSortedDictionary<byte[], byte[]> BeforeWrite(ImmutableSortedDictionary<byte[], byte[]> after) =>
        write is null || WriteRefused ? after
        : write.OldValue is null ? after.Remove(write.Key)
        : after.SetItem(write.Key, write.OldValue);

    public override IEnumerable<StoreOp> Shrink()
    {
        if (write is not null)
        {
            yield return new CursorWalkOp(ns, lower, upper, prefix, snapshotId, moves, null);
        }
        if (moves.Count > 1)
        {
            yield return new CursorWalkOp(ns, lower, upper, prefix, snapshotId, [.. moves.Take(moves.Count / 2)], write);
            yield return new CursorWalkOp(ns, lower, upper, prefix, snapshotId, [.. moves.Skip(1)], write);
        }
        if (prefix is not null)
        {
            yield return new CursorWalkOp(ns, lower, upper, null, snapshotId, moves, write);
        }
        if (lower is not null)
        {
            yield return new CursorWalkOp(ns, null, upper, prefix, snapshotId, moves, write);
        }
        if (upper is not null)
        {
            yield return new CursorWalkOp(ns, lower, null, prefix, snapshotId, moves, write);
        }
    }

    public override string Kind => (snapshotId is null ? "Cursor" : "Cursor@Snapshot") + (write is null ? string.Empty : "+Write");

    public override string ToString()
    {
        var parts = new List<string> { Show.Name(ns) };
        if (lower is not null)
        {
            parts.Add("lower " + Show.Bytes(lower));
        }
        if (upper is not null)
        {
            parts.Add("upper " + Show.Bytes(upper));
        }
        if (prefix is not null)
        {
            parts.Add("prefix " + Show.Bytes(prefix));
        }
        if (snapshotId is int id)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"snapshot #{id}"));
        }
        if (write is not null)
        {
            parts.Add(write.ToString());
        }
        return $"Cursor({string.Join(", ", parts)}: {string.Join(" ", moves)})";
    }

    /// <summary>A walk: mostly a seek followed by steps either way, sometimes a whole walk, sometimes a step off no entry.</summary>
    public static Gen<CursorMove[]> Moves(Gen<byte[]> target)
    {
        Gen<CursorMove> seek = Gen.Frequency(
            (2, Gen.Constant(new CursorMove(CursorMoveKind.SeekToFirst))),
            (2, Gen.Constant(new CursorMove(CursorMoveKind.SeekToLast))),
            (4, target.Select(t => new CursorMove(CursorMoveKind.Seek, t))),
            (4, target.Select(t => new CursorMove(CursorMoveKind.SeekForPrev, t))),
            (2, Gen.Constant(new CursorMove(CursorMoveKind.WalkForward))),
            (2, Gen.Constant(new CursorMove(CursorMoveKind.WalkBackward))));
        Gen<CursorMove> any = Gen.Frequency(
            (3, seek),
            (5, Gen.Constant(new CursorMove(CursorMoveKind.Next))),
            (4, Gen.Constant(new CursorMove(CursorMoveKind.Prev))));
        return Gen.Frequency((1, any), (6, seek)).SelectMany(first => Gen.Choose(0, 10).SelectMany(n => Gen.ArrayOf(any, n)).Select(rest => (CursorMove[])[first, .. rest]));
    }
}

/// <summary>
/// A cursor and a snapshot are open when the store locks: the cursor's next move and a read through
/// the snapshot throw <see cref="StoreLockedException"/>, also after restore and unlock; disposing both
/// is harmless, and a new cursor sees everything. (Revoke, check, moves, restore, unlock.)
/// </summary>
internal sealed class CursorAcrossLockOp(string ns) : StoreOp
{
    public override bool Pre(StoreModel model) => model.State == ModelState.Open && model.Cmek == TestCmekAvailability.Available;

    protected override StoreModel Next(StoreModel model) => model.WithNamespace(ns).WithSnapshotsReleased(SnapshotStatus.ReleasedByLock).TouchedOnly(ns);

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        EncryptedStore store = harness.Store;
        StoreNamespace n = store.GetNamespace(ns);
        StoreSnapshot snapshot = store.CreateSnapshot();
        StoreCursor cursor = n.OpenCursor();
        bool started = cursor.SeekToFirst();
        harness.Cmek.Revoke("AccessDeniedException");
        ModelCheck.That(store.RunCmekCheck() == StoreState.Locked, $"{this}: the store did not lock on a revoked CMEK");
        ModelCheck.ExpectLocked(() => cursor.SeekToLast(), $"{this}: a move of a cursor opened before the lock");
        harness.Cmek.Restore();
        store.Unlock();
        ModelCheck.ExpectLocked(() => cursor.Prev(), $"{this}: a move after the unlock of a cursor opened before the lock");
        ModelCheck.ExpectLocked(() => n.Get([], snapshot), $"{this}: a read after the unlock through a snapshot taken before the lock");
        cursor.Dispose();
        snapshot.Dispose();
        ModelCheck.Expect<ObjectDisposedException>(() => cursor.SeekToFirst(), $"{this}: a move of a disposed cursor");
        using StoreCursor fresh = store.GetNamespace(ns).OpenCursor();
        ModelCheck.That(fresh.SeekToFirst() == started, $"{this}: a new cursor after the unlock {(started ? "finds no entry" : "finds an entry")}");
    }

    public override string ToString() => $"CursorAcrossLock({Show.Name(ns)})";
}
