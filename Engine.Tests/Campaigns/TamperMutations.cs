using System.Globalization;

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
    bool Planted = false)
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

    public override string ToString() => $"{Kind} on {Target} ({Role}): {Description}";
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
