using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Engine.Crypto;

namespace Engine.Tests.Campaigns;

internal enum MutationKind
{
    FlipHeaderByte,
    FlipFrameByte,
    SwapFrames,
    DuplicateFrame,
    TruncateSstAtFrameBoundary,
    TruncateSstMidFrame,
    SpliceFrameSameScope,
    SpliceFrameOtherScope,
    SpliceHeaderSameScope,
    SpliceHeaderOtherScope,
    ReplayOlderHeader,
    AppendTrailingBytes,

    /// <summary>A log-like file (WAL, MANIFEST, CURRENT, OPTIONS, LOG, ...) cut after one of its frames (not the last).</summary>
    TruncateLogAtFrameBoundary,

    /// <summary>A log-like file cut to its 1024-byte header (every frame removed).</summary>
    TruncateLogToHeader,

    /// <summary>One file of any kind deleted.</summary>
    DeleteFile,

    /// <summary>
    /// One file replaced by (or, where the path is gone, planted as) its copy from the same store one
    /// open earlier. An older copy of an append-only log file is a prefix of it, which the truncation
    /// kinds above cover frame by frame.
    /// </summary>
    RestoreOlderFile,

    // Issue 12, items 2-5: the key registry, rollback, markers and identity. Each is judged by
    // TamperWorker.JudgeTrust; about half of them open with the store's rollback anchor
    // (TrustCase.Anchored), where every rollback must be an integrity error.

    /// <summary>KEYRING (alone, or with KEYRING.prev) replaced by its copy from one open earlier or from before the KEK rotations.</summary>
    RestoreOlderRegistry,

    /// <summary>The 1 KiB header regions of every SST that existed before the KEK rotations restored (with or without the pre-rotation registry).</summary>
    RestoreOlderSstHeaders,

    /// <summary>
    /// Every file replaced by the store one open earlier (or every file but the registry), or the data
    /// files left as they are under the registry of one open later.
    /// </summary>
    RestoreOlderStore,

    /// <summary>A shred marker <c>ns/&lt;id&gt;.shred</c> planted: empty, random bytes, or the namespace's name.</summary>
    ForgedShredMarker,

    /// <summary>The directory replaced by another store made with the same key file (identity swap), pinned or not.</summary>
    SwapStore,

    /// <summary>One byte of KEYRING or KEYRING.prev flipped, with or without its checksum fixed.</summary>
    FlipRegistryByte,

    /// <summary>KEYRING, KEYRING.prev, or both deleted.</summary>
    DeleteRegistry,
}

/// <summary>The precise variant of a registry/rollback/marker/identity mutation (judged by <see cref="TamperWorker"/>).</summary>
internal enum TrustVariant
{
    OlderKeyringOnly,
    OlderKeyringAndPrevious,
    PreRotationKeyringOnly,
    PreRotationKeyringAndPrevious,
    SstHeadersOnly,
    SstHeadersWithPreRotationRegistry,
    WholeOlderStore,
    OlderStoreButCurrentRegistry,
    DataUnderNewerRegistry,
    Marker,
    SwapSameKey,
    FlipKeyring,
    FlipKeyringChecksumFixed,
    FlipPrevious,
    FlipPreviousChecksumFixed,
    DeleteKeyring,
    DeletePrevious,
    DeleteBoth,
}

/// <summary>
/// How a trust mutation is opened and what it was: <paramref name="Anchored"/> opens with the store's
/// <see cref="FileRollbackAnchor"/>, <paramref name="PinStoreId"/> with <see cref="StoreOptions.ExpectedStoreId"/>;
/// <paramref name="Field"/> names the registry field a flipped byte lies in.
/// </summary>
internal sealed record TrustCase(TrustVariant Variant, bool Anchored, bool PinStoreId, string Field = "")
{
    /// <summary>Variants that bring back an older registry generation (what an anchor must refuse).</summary>
    public bool IsRegistryRollback => Variant is TrustVariant.OlderKeyringOnly or TrustVariant.OlderKeyringAndPrevious
        or TrustVariant.PreRotationKeyringOnly or TrustVariant.PreRotationKeyringAndPrevious
        or TrustVariant.SstHeadersWithPreRotationRegistry or TrustVariant.WholeOlderStore;
}

/// <summary>What a mutation confined to one header slot does to the slot a reader uses.</summary>
internal enum SlotEffect
{
    /// <summary>Not confined to one slot, or the slot in force afterwards is not an untouched, valid one.</summary>
    None,

    /// <summary>Only the slot not in force changed; the slot in force is untouched and still chosen.</summary>
    InactiveSlotChanged,

    /// <summary>The slot in force was damaged; the reader now uses the other slot, untouched and valid before.</summary>
    FellBackToOtherSlot,
}

/// <summary>One applied mutation: what was done, where, and the facts its outcome is judged by.</summary>
internal sealed record Mutation(
    MutationKind Kind,
    string Target,
    FileRole Role,
    string Description,
    FileGeometry Before,
    long LengthAfter,
    long LowestTouched,
    SlotEffect Slot,
    bool Deleted = false,
    bool Planted = false,
    TrustCase? Trust = null)
{
    /// <summary>
    /// A cut at a frame boundary that removed only empty frames (a sync marker): no byte of the file's
    /// content is gone, so the store reads back complete.
    /// </summary>
    public bool RemovedOnlyEmptyFrames =>
        Kind is MutationKind.TruncateLogAtFrameBoundary
        && Before.Frames.Where(f => f.Offset >= LengthAfter).All(f => f.Length == FileGeometry.FrameOverhead);

    /// <summary>
    /// Bytes from the start of the first frame the mutation touched to the end of the file: a log-like
    /// file may read this as a torn tail when it is at most one frame (docs/format.md).
    /// </summary>
    public long DamagedTail => LengthAfter - (LowestTouched >= FileGeometry.HeaderRegion ? Before.FrameStartOf(LowestTouched) : 0);

    /// <summary>Frames of the original file at or after the first frame touched.</summary>
    public int FramesFromLowestTouched => LowestTouched < FileGeometry.HeaderRegion
        ? Before.Frames.Count
        : Before.Frames.Count(f => f.Offset + f.Length > Before.FrameStartOf(LowestTouched));

    public override string ToString() => Trust is null
        ? $"{Kind} on {Target} ({Role}): {Description}"
        : $"{Kind} on {Target} ({Role}): {Description} [{Trust.Variant}{(Trust.Anchored ? ", anchored" : string.Empty)}{(Trust.PinStoreId ? ", store id pinned" : string.Empty)}]";
}

/// <summary>Chooses and applies mutations to the files of a restored tamper store.</summary>
internal sealed class TamperMutator(TamperFixture fixture)
{
    public static readonly MutationKind[] Kinds = Enum.GetValues<MutationKind>();

    private static string ScopeOf(string relative) => Path.GetDirectoryName(relative) ?? string.Empty;

    /// <summary>Plans and applies mutation number <paramref name="index"/>; null when the kind has no candidate.</summary>
    public Mutation? Apply(MutationKind kind, Random rng)
    {
        string root = fixture.Work;
        if (kind >= MutationKind.RestoreOlderRegistry)
        {
            return ApplyTrust(kind, rng);
        }
        List<string> files = TamperFixture.PluginFilesOf(root);
        if (kind == MutationKind.RestoreOlderFile)
        {
            return RestoreOlder(files, rng);
        }
        var byRole = files.GroupBy(f => TamperFixture.RoleOf(f, fixture.ObsoleteFiles)).ToDictionary(g => g.Key, g => g.ToList());

        // Candidate targets for the kind, grouped by role so that every file type gets its share.
        Func<string, byte[], bool> eligible = kind switch
        {
            MutationKind.TruncateSstAtFrameBoundary or MutationKind.TruncateSstMidFrame => (f, c) => f.EndsWith(".sst", StringComparison.Ordinal) && c.Length > FileGeometry.HeaderRegion,
            MutationKind.FlipFrameByte => (_, c) => c.Length > FileGeometry.HeaderRegion,
            MutationKind.SwapFrames or MutationKind.DuplicateFrame => (f, c) => EqualLengthPairs(FileGeometry.Of(f, c)).Count > 0,
            MutationKind.SpliceFrameSameScope or MutationKind.SpliceFrameOtherScope => (f, c) => FileGeometry.Of(f, c).Frames.Count > 0,
            MutationKind.ReplayOlderHeader => (f, c) => OlderHeaders(f, c).Count > 0,
            MutationKind.TruncateLogAtFrameBoundary => (f, c) => !FileGeometry.IsImmutable(f) && c.Length > FileGeometry.HeaderRegion && FileGeometry.Of(f, c).Frames.Count >= 2,
            MutationKind.TruncateLogToHeader => (f, c) => !FileGeometry.IsImmutable(f) && c.Length > FileGeometry.HeaderRegion,
            MutationKind.DeleteFile => (_, _) => true,
            _ => (_, c) => c.Length >= FileGeometry.HeaderRegion,
        };
        var candidates = new Dictionary<FileRole, List<(string File, byte[] Content)>>();
        foreach ((FileRole role, List<string> list) in byRole)
        {
            foreach (string f in list)
            {
                byte[] content = File.ReadAllBytes(Path.Combine(root, f));
                if (eligible(f, content) && HasSource(kind, f, files))
                {
                    (candidates.TryGetValue(role, out var l) ? l : candidates[role] = []).Add((f, content));
                }
            }
        }
        if (candidates.Count == 0)
        {
            return null;
        }
        // Every role has the same weight, except the copies of obsolete SSTs (half), which only show that
        // a file RocksDB does not use is not read.
        FileRole[] roles = [.. candidates.Keys.Order().SelectMany(r => r == FileRole.ObsoleteSst ? new[] { r } : [r, r])];
        FileRole pickedRole = roles[rng.Next(roles.Length)];
        (string target, byte[] original) = candidates[pickedRole][rng.Next(candidates[pickedRole].Count)];
        FileGeometry g = FileGeometry.Of(target, original);
        byte[] content2 = (byte[])original.Clone();
        string path = Path.Combine(root, target);
        string desc;
        long lowest;
        if (kind == MutationKind.DeleteFile)
        {
            File.Delete(path);
            return new Mutation(kind, target, pickedRole, F($"deleted ({original.Length} bytes, {g.Frames.Count} frames)"), g, 0, 0, SlotEffect.None, Deleted: true);
        }

        switch (kind)
        {
            case MutationKind.FlipHeaderByte:
                {
                    int roll = rng.Next(4);
                    int offset = roll switch
                    {
                        0 => rng.Next(0, 48),                        // fixed fields: magic .. reserved
                        1 => rng.Next(48, 48 + 70),                  // key envelope
                        2 => rng.Next(0, FileGeometry.SlotSize),     // anywhere in slot A
                        _ => rng.Next(FileGeometry.SlotSize, FileGeometry.HeaderRegion), // slot B
                    };
                    byte mask = (byte)rng.Next(1, 256);
                    content2[offset] ^= mask;
                    desc = F($"byte {offset} ^= 0x{mask:x2}");
                    lowest = offset;
                    break;
                }
            case MutationKind.FlipFrameByte:
                {
                    long offset;
                    if (g.Frames.Count > 0 && rng.Next(3) == 0)
                    {
                        (long o, int len) = g.Frames[rng.Next(g.Frames.Count)];
                        offset = o + rng.Next(Math.Min(FileGeometry.FrameHeaderSize, len)); // a frame header (length, sync distance, check)
                    }
                    else
                    {
                        offset = FileGeometry.HeaderRegion + (long)(rng.NextDouble() * (original.Length - FileGeometry.HeaderRegion));
                    }
                    byte mask = (byte)rng.Next(1, 256);
                    content2[offset] ^= mask;
                    desc = F($"byte {offset} (frame {g.FrameAt(offset)} of {g.Frames.Count}) ^= 0x{mask:x2}");
                    lowest = offset;
                    break;
                }
            case MutationKind.SwapFrames:
                {
                    List<(int A, int B)> pairs = EqualLengthPairs(g);
                    (int a, int b) = pairs[rng.Next(pairs.Count)];
                    (long oa, int la) = g.Frames[a];
                    (long ob, _) = g.Frames[b];
                    original.AsSpan((int)ob, la).CopyTo(content2.AsSpan((int)oa));
                    original.AsSpan((int)oa, la).CopyTo(content2.AsSpan((int)ob));
                    desc = F($"frames {a} and {b} of {g.Frames.Count} swapped ({la} bytes each)");
                    lowest = Math.Min(oa, ob);
                    break;
                }
            case MutationKind.DuplicateFrame:
                {
                    List<(int A, int B)> pairs = EqualLengthPairs(g);
                    (int a, int b) = pairs[rng.Next(pairs.Count)];
                    if (rng.Next(2) == 0)
                    {
                        (a, b) = (b, a);
                    }
                    (long from, int len) = g.Frames[a];
                    (long over, _) = g.Frames[b];
                    original.AsSpan((int)from, len).CopyTo(content2.AsSpan((int)over));
                    desc = F($"frame {a} copied over frame {b} of {g.Frames.Count}");
                    lowest = over;
                    break;
                }
            case MutationKind.TruncateSstAtFrameBoundary:
                {
                    int keep = rng.Next(g.Frames.Count); // keep frames [0, keep): drops at least the final frame
                    long length = keep == 0 ? FileGeometry.HeaderRegion : g.Frames[keep - 1].Offset + g.Frames[keep - 1].Length;
                    content2 = original[..(int)length];
                    desc = F($"cut to {length} bytes: frames {keep}..{g.Frames.Count - 1} removed");
                    lowest = length;
                    break;
                }
            case MutationKind.TruncateSstMidFrame:
                {
                    var boundaries = new HashSet<long>(g.Frames.Select(f => f.Offset)) { original.Length };
                    long length;
                    do
                    {
                        length = rng.Next(10) == 0 ? rng.Next(0, FileGeometry.HeaderRegion) : rng.NextInt64(FileGeometry.HeaderRegion + 1, original.Length);
                    }
                    while (boundaries.Contains(length));
                    content2 = original[..(int)length];
                    desc = F($"cut to {length} of {original.Length} bytes (inside frame {g.FrameAt(length)})");
                    lowest = length;
                    break;
                }
            case MutationKind.SpliceFrameSameScope:
            case MutationKind.SpliceFrameOtherScope:
                {
                    bool same = kind == MutationKind.SpliceFrameSameScope;
                    List<string> sources = SourcesFor(target, files, same);
                    int j = rng.Next(g.Frames.Count);
                    (long to, int toLen) = g.Frames[j];
                    // Prefer a source frame of the same stored length (the layout stays intact), else any frame.
                    var matches = new List<(string Src, long Offset, int Length)>();
                    var any = new List<(string Src, long Offset, int Length)>();
                    foreach (string src in sources)
                    {
                        byte[] sc = File.ReadAllBytes(Path.Combine(root, src));
                        foreach ((long o, int l) in FileGeometry.Of(src, sc).Frames)
                        {
                            (l == toLen ? matches : any).Add((src, o, l));
                        }
                    }
                    List<(string Src, long Offset, int Length)> pool = matches.Count > 0 ? matches : any;
                    if (pool.Count == 0)
                    {
                        return null;
                    }
                    (string s, long so, int sl) = pool[rng.Next(pool.Count)];
                    byte[] sourceBytes = File.ReadAllBytes(Path.Combine(root, s)).AsSpan((int)so, sl).ToArray();
                    content2 = [.. original.AsSpan(0, (int)to), .. sourceBytes, .. original.AsSpan((int)(to + toLen))];
                    desc = F($"frame {j} of {g.Frames.Count} ({toLen} bytes) replaced by a frame of {s} ({sl} bytes at {so})");
                    lowest = to;
                    break;
                }
            case MutationKind.SpliceHeaderSameScope:
            case MutationKind.SpliceHeaderOtherScope:
                {
                    List<string> sources = SourcesFor(target, files, kind == MutationKind.SpliceHeaderSameScope);
                    string s = sources[rng.Next(sources.Count)];
                    byte[] sc = File.ReadAllBytes(Path.Combine(root, s));
                    sc.AsSpan(0, FileGeometry.HeaderRegion).CopyTo(content2);
                    desc = F($"header region replaced by the header of {s}");
                    lowest = 0;
                    break;
                }
            case MutationKind.ReplayOlderHeader:
                {
                    var olds = OlderHeaders(target, original);
                    (string from, byte[] old) = olds[rng.Next(olds.Count)];
                    old.CopyTo(content2, 0);
                    desc = $"header region replaced by {from}";
                    lowest = 0;
                    break;
                }
            case MutationKind.AppendTrailingBytes:
                {
                    int n = rng.Next(4) == 0 ? rng.Next(1, FileGeometry.FrameOverhead) : rng.Next(1, g.MaxTornBytes + 1);
                    byte[] junk = new byte[n];
                    rng.NextBytes(junk);
                    content2 = [.. original, .. junk];
                    desc = F($"{n} random bytes appended after {original.Length}");
                    lowest = original.Length;
                    break;
                }
            case MutationKind.TruncateLogAtFrameBoundary:
                {
                    int keep = rng.Next(1, g.Frames.Count); // keep frames [0, keep): at least one removed, at least one kept
                    long length = g.Frames[keep - 1].Offset + g.Frames[keep - 1].Length;
                    content2 = original[..(int)length];
                    desc = F($"cut to {length} bytes after frame {keep - 1}: frames {keep}..{g.Frames.Count - 1} removed");
                    lowest = length;
                    break;
                }
            case MutationKind.TruncateLogToHeader:
                {
                    content2 = original[..FileGeometry.HeaderRegion];
                    desc = F($"cut to its {FileGeometry.HeaderRegion}-byte header: all {g.Frames.Count} frames removed");
                    lowest = FileGeometry.HeaderRegion;
                    break;
                }
            default:
                throw new InvalidOperationException(kind.ToString());
        }

        if (content2.AsSpan().SequenceEqual(original))
        {
            return null; // e.g. a swap of identical frames: not a mutation
        }
        File.WriteAllBytes(path, content2);
        // Inert by construction: the mutation changed bytes of one header slot only, and the slot a reader
        // uses afterwards is the other one, byte for byte as it was and valid before: either the changed
        // slot was not in force (an unused slot B, or slot A superseded by a re-wrap), or it was and the
        // reader falls back to the other, equally valid wrap of the same DEK (the two-slot re-wrap design).
        int activeBefore = FileGeometry.ActiveSlot(original);
        int activeAfter = FileGeometry.ActiveSlot(content2);
        List<long> diffs = [.. Differences(original, content2)];
        int changedSlot = diffs.Count > 0 && diffs.All(o => o < FileGeometry.SlotSize) ? 0
            : diffs.Count > 0 && diffs.All(o => o >= FileGeometry.SlotSize && o < FileGeometry.HeaderRegion) ? 1 : -1;
        SlotEffect slotEffect = changedSlot < 0 || original.Length != content2.Length || activeAfter != 1 - changedSlot
                || !FileGeometry.SlotChecksumMatches(original.AsSpan(activeAfter * FileGeometry.SlotSize))
            ? SlotEffect.None
            : activeBefore == activeAfter ? SlotEffect.InactiveSlotChanged : SlotEffect.FellBackToOtherSlot;
        return new Mutation(kind, target, pickedRole, desc, g, content2.Length, lowest, slotEffect);
    }

    /// <summary>
    /// Copies one file of the store as it was one open earlier (<see cref="TamperFixture.Older"/>) over
    /// the current one, or plants it where the path is gone; every role gets its share.
    /// </summary>
    private Mutation? RestoreOlder(List<string> files, Random rng)
    {
        var current = new HashSet<string>(files, StringComparer.Ordinal);
        var candidates = new Dictionary<FileRole, List<string>>();
        foreach (string rel in TamperFixture.PluginFilesOf(fixture.Older))
        {
            string work = Path.Combine(fixture.Work, rel);
            if (current.Contains(rel) && File.ReadAllBytes(work).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(fixture.Older, rel))))
            {
                continue; // the same bytes: not a mutation
            }
            FileRole role = TamperFixture.RoleOf(rel, fixture.ObsoleteFiles);
            (candidates.TryGetValue(role, out var l) ? l : candidates[role] = []).Add(rel);
        }
        if (candidates.Count == 0)
        {
            return null;
        }
        FileRole[] roles = [.. candidates.Keys.Order()];
        FileRole pickedRole = roles[rng.Next(roles.Length)];
        string target = candidates[pickedRole][rng.Next(candidates[pickedRole].Count)];
        string path = Path.Combine(fixture.Work, target);
        bool planted = !current.Contains(target);
        byte[] before = planted ? [] : File.ReadAllBytes(path);
        byte[] older = File.ReadAllBytes(Path.Combine(fixture.Older, target));
        File.WriteAllBytes(path, older);
        long lowest = Differences(before, older).FirstOrDefault();
        string desc = planted
            ? F($"planted from one open earlier ({older.Length} bytes; the path no longer existed)")
            : F($"replaced by its copy from one open earlier ({before.Length} -> {older.Length} bytes)");
        return new Mutation(MutationKind.RestoreOlderFile, target, pickedRole, desc, FileGeometry.Of(target, before), older.Length, lowest, SlotEffect.None, Planted: planted);
    }

    /// <summary>Applies a registry, rollback, marker or identity mutation (issue 12, items 2-5).</summary>
    private Mutation? ApplyTrust(MutationKind kind, Random rng)
    {
        string root = fixture.Work;
        string keyring = Path.Combine(root, KeyRegistry.FileName);
        string previous = Path.Combine(root, KeyRegistry.PreviousFileName);
        bool anchored = rng.Next(2) == 0;
        FileGeometry none = FileGeometry.Of(string.Empty, []);
        Mutation Made(string target, FileRole role, string desc, TrustVariant variant, bool pin = false, string field = "") =>
            new(kind, target, role, desc, none, 0, 0, SlotEffect.None, Trust: new TrustCase(variant, anchored, pin, field));
        void CopyRegistry(string from, bool withPrevious)
        {
            File.Copy(Path.Combine(from, KeyRegistry.FileName), keyring, overwrite: true);
            if (withPrevious)
            {
                File.Copy(Path.Combine(from, KeyRegistry.PreviousFileName), previous, overwrite: true);
            }
        }

        switch (kind)
        {
            case MutationKind.RestoreOlderRegistry:
                {
                    TrustVariant v = rng.Next(4) switch
                    {
                        0 => TrustVariant.OlderKeyringOnly,
                        1 => TrustVariant.OlderKeyringAndPrevious,
                        2 => TrustVariant.PreRotationKeyringOnly,
                        _ => TrustVariant.PreRotationKeyringAndPrevious,
                    };
                    bool preRotation = v is TrustVariant.PreRotationKeyringOnly or TrustVariant.PreRotationKeyringAndPrevious;
                    bool both = v is TrustVariant.OlderKeyringAndPrevious or TrustVariant.PreRotationKeyringAndPrevious;
                    CopyRegistry(preRotation ? fixture.PreRotationRegistry : fixture.Older, both);
                    return Made(KeyRegistry.FileName, FileRole.Keyring,
                        F($"{(both ? "KEYRING and KEYRING.prev" : "KEYRING")} replaced by the copy from {(preRotation ? "before the KEK rotations" : "one open earlier")}"), v);
                }
            case MutationKind.RestoreOlderSstHeaders:
                {
                    bool withRegistry = rng.Next(2) == 0;
                    int restored = 0;
                    foreach ((string rel, byte[] header) in fixture.PreRotationHeaders.OrderBy(h => h.Key, StringComparer.Ordinal))
                    {
                        string path = Path.Combine(root, rel);
                        if (!rel.EndsWith(".sst", StringComparison.Ordinal) || !File.Exists(path))
                        {
                            continue;
                        }
                        using FileStream fs = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
                        byte[] current = new byte[FileGeometry.HeaderRegion];
                        fs.ReadExactly(current);
                        if (!current.AsSpan().SequenceEqual(header))
                        {
                            fs.Position = 0;
                            fs.Write(header);
                            restored++;
                        }
                    }
                    if (restored == 0)
                    {
                        return null;
                    }
                    if (withRegistry)
                    {
                        CopyRegistry(fixture.PreRotationRegistry, withPrevious: true);
                    }
                    return Made("*.sst", FileRole.SstHeaders,
                        F($"pre-rotation header regions of {restored} SSTs restored{(withRegistry ? ", with the pre-rotation KEYRING and KEYRING.prev" : string.Empty)}"),
                        withRegistry ? TrustVariant.SstHeadersWithPreRotationRegistry : TrustVariant.SstHeadersOnly);
                }
            case MutationKind.RestoreOlderStore:
                {
                    int variant = rng.Next(3);
                    if (variant == 2)
                    {
                        // The data files stay, the registry is one open newer: to the store, its data
                        // files were restored from an older copy under the current registry.
                        CopyRegistry(fixture.NewerRegistry, withPrevious: true);
                        return Made(".", FileRole.WholeStore, "every file but KEYRING and KEYRING.prev is from one open earlier than the registry",
                            TrustVariant.DataUnderNewerRegistry);
                    }
                    bool keepRegistry = variant == 0;
                    byte[] k = File.ReadAllBytes(keyring);
                    byte[] p = File.ReadAllBytes(previous);
                    Directory.Delete(root, recursive: true);
                    TamperFixture.CopyTree(fixture.Older, root);
                    if (keepRegistry)
                    {
                        File.WriteAllBytes(keyring, k);
                        File.WriteAllBytes(previous, p);
                    }
                    return Made(".", FileRole.WholeStore,
                        keepRegistry ? "every file but KEYRING and KEYRING.prev replaced by the store one open earlier" : "every file replaced by the store one open earlier",
                        keepRegistry ? TrustVariant.OlderStoreButCurrentRegistry : TrustVariant.WholeOlderStore);
                }
            case MutationKind.ForgedShredMarker:
                {
                    string nsRoot = Path.Combine(root, StoreLayout.NamespacesDir);
                    List<uint> ids = [.. Directory.EnumerateDirectories(nsRoot)
                        .Select(d => uint.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? id : 0)
                        .Where(id => id > 0).Order()];
                    int pick = rng.Next(ids.Count + 2);
                    string stem = pick < ids.Count ? ids[pick].ToString(CultureInfo.InvariantCulture)
                        : pick == ids.Count ? (ids.Max() + 1 + (uint)rng.Next(3)).ToString(CultureInfo.InvariantCulture) // an id never issued
                        : "x" + rng.Next(100).ToString(CultureInfo.InvariantCulture); // not an id at all
                    int content = rng.Next(3);
                    byte[] bytes = content switch
                    {
                        0 => [],
                        1 => RandomBytes(rng, rng.Next(1, 65)),
                        _ => Encoding.UTF8.GetBytes(TamperFixture.Namespaces[rng.Next(TamperFixture.Namespaces.Length)]),
                    };
                    string rel = Path.Combine(StoreLayout.NamespacesDir, stem + ".shred");
                    File.WriteAllBytes(Path.Combine(root, rel), bytes);
                    string what = content switch { 0 => "empty", 1 => F($"{bytes.Length} random bytes"), _ => "a namespace name" };
                    string whose = pick < ids.Count ? "a live namespace" : pick == ids.Count ? "an id never issued" : "no id";
                    return Made(rel, FileRole.ShredMarker, F($"marker planted ({what}) for {whose}"), TrustVariant.Marker);
                }
            case MutationKind.SwapStore:
                {
                    bool pin = rng.Next(2) == 0;
                    Directory.Delete(root, recursive: true);
                    TamperFixture.CopyTree(fixture.OtherStore, root);
                    return Made(".", FileRole.WholeStore, "the directory replaced by another store made with the same key file", TrustVariant.SwapSameKey, pin);
                }
            case MutationKind.FlipRegistryByte:
                {
                    bool onPrevious = rng.Next(3) == 0;
                    bool fix = rng.Next(2) == 0;
                    string path = onPrevious ? previous : keyring;
                    byte[] raw = File.ReadAllBytes(path);
                    int end = fix ? raw.Length - 8 : raw.Length; // a fixed checksum is recomputed, so flipping it changes nothing
                    (int headerEnd, _) = RegistryFields(raw, 0);
                    int offset = rng.Next(3) == 0 ? rng.Next(headerEnd) : rng.Next(end);
                    byte mask = (byte)rng.Next(1, 256);
                    raw[offset] ^= mask;
                    if (fix)
                    {
                        Engine.Tests.Crypto.CryptoTestSupport.FixRegistryChecksum(raw);
                    }
                    File.WriteAllBytes(path, raw);
                    string field = RegistryFields(raw, offset).Field;
                    TrustVariant v = (onPrevious, fix) switch
                    {
                        (false, false) => TrustVariant.FlipKeyring,
                        (false, true) => TrustVariant.FlipKeyringChecksumFixed,
                        (true, false) => TrustVariant.FlipPrevious,
                        _ => TrustVariant.FlipPreviousChecksumFixed,
                    };
                    return Made(Path.GetFileName(path), onPrevious ? FileRole.KeyringPrevious : FileRole.Keyring,
                        F($"byte {offset} ({field}) ^= 0x{mask:x2}{(fix ? ", checksum fixed" : string.Empty)}"), v, field: field);
                }
            case MutationKind.DeleteRegistry:
                {
                    int which = rng.Next(3);
                    if (which != 1)
                    {
                        File.Delete(keyring);
                    }
                    if (which != 0)
                    {
                        File.Delete(previous);
                    }
                    return which switch
                    {
                        0 => Made(KeyRegistry.FileName, FileRole.Keyring, "deleted", TrustVariant.DeleteKeyring),
                        1 => Made(KeyRegistry.PreviousFileName, FileRole.KeyringPrevious, "deleted", TrustVariant.DeletePrevious),
                        _ => Made(KeyRegistry.FileName, FileRole.Keyring, "KEYRING and KEYRING.prev deleted", TrustVariant.DeleteBoth),
                    };
                }
            default:
                throw new InvalidOperationException(kind.ToString());
        }
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        byte[] b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>
    /// The registry field holding <paramref name="offset"/> (docs/format.md, "Key registry"), read from the
    /// file as it is, and where its plaintext header (magic .. body length) ends.
    /// </summary>
    internal static (int HeaderEnd, string Field) RegistryFields(byte[] raw, int offset)
    {
        if (raw.Length < 40)
        {
            return (raw.Length, "short file");
        }
        int u = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(36));
        int wAt = 38 + u;
        int w = wAt + 2 <= raw.Length ? BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(wAt)) : 0;
        int nonceAt = wAt + 2 + w;
        int headerEnd = Math.Min(raw.Length, nonceAt + 12 + 4);
        (int End, string Name)[] fields =
        [
            (8, "magic"), (10, "format version"), (12, "flags"), (28, "store id"), (36, "generation"), (38, "CMEK URI length"),
            (wAt, "CMEK URI"), (wAt + 2, "wrapped root KEK length"), (nonceAt, "wrapped root KEK"), (nonceAt + 12, "body nonce"),
            (nonceAt + 16, "body length"), (raw.Length - 24, "body ciphertext"), (raw.Length - 8, "body tag"), (raw.Length, "checksum"),
        ];
        string field = fields.FirstOrDefault(f => offset < f.End).Name ?? "past the end";
        return (headerEnd, field);
    }

    private static bool HasSource(MutationKind kind, string target, List<string> files) => kind switch
    {
        MutationKind.SpliceFrameSameScope or MutationKind.SpliceHeaderSameScope => SourcesFor(target, files, same: true).Count > 0,
        MutationKind.SpliceFrameOtherScope or MutationKind.SpliceHeaderOtherScope => SourcesFor(target, files, same: false).Count > 0,
        _ => true,
    };

    private static List<string> SourcesFor(string target, List<string> files, bool same) =>
        [.. files.Where(f => f != target && (ScopeOf(f) == ScopeOf(target)) == same)];

    /// <summary>
    /// Earlier header regions of the file at <paramref name="target"/> that differ from its current one:
    /// the same file's header before the KEK rotation re-wrapped it (same file id and DEK, older wrap
    /// under a now retired KEK version), and the header of the file the same path held one open earlier.
    /// </summary>
    private List<(string From, byte[] Header)> OlderHeaders(string target, byte[] content)
    {
        var found = new List<(string, byte[])>();
        if (content.Length < FileGeometry.HeaderRegion)
        {
            return found;
        }
        if (fixture.PreRotationHeaders.TryGetValue(target, out byte[]? pre) && !pre.AsSpan().SequenceEqual(content.AsSpan(0, FileGeometry.HeaderRegion)))
        {
            found.Add(("its own header from before the KEK rotation re-wrapped it", pre));
        }
        string older = Path.Combine(fixture.Older, target);
        if (File.Exists(older))
        {
            byte[] head = new byte[FileGeometry.HeaderRegion];
            using FileStream fs = File.OpenRead(older);
            if (fs.Read(head) == head.Length && !head.AsSpan().SequenceEqual(content.AsSpan(0, FileGeometry.HeaderRegion))
                && !found.Any(f => f.Item2.AsSpan().SequenceEqual(head)))
            {
                found.Add(("the header of the file this path held one open earlier", head));
            }
        }
        return found;
    }

    private static List<(int A, int B)> EqualLengthPairs(FileGeometry g)
    {
        var pairs = new List<(int, int)>();
        for (int a = 0; a < g.Frames.Count; a++)
        {
            for (int b = a + 1; b < g.Frames.Count && pairs.Count < 4096; b++)
            {
                if (g.Frames[a].Length == g.Frames[b].Length)
                {
                    pairs.Add((a, b));
                }
            }
        }
        return pairs;
    }

    private static IEnumerable<long> Differences(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                yield return i;
            }
        }
        for (long i = n; i < Math.Max(a.Length, b.Length); i++)
        {
            yield return i;
        }
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
