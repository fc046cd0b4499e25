using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Engine.Files;

/// <summary>
/// The engine's authenticated record of the store's log files (docs/format.md, "Live log record").
/// Frames authenticate bytes, not which files must exist or how long they are: a WAL deleted or cut
/// at a frame boundary reads like a crash. This record, a small file sealed by the plugin under the
/// system KEK (<see cref="FileName"/>), says what must be there. It is written before RocksDB opens
/// (so it exists before the store's first MANIFEST), after RocksDB opened, and at a clean close.
/// </summary>
/// <remarks>
/// Two states. <see cref="LiveLogState.Closed"/> (written after RocksDB closed cleanly): the MANIFEST
/// CURRENT names, CURRENT, IDENTITY, the OPTIONS files and every WAL, each with its exact logical size; opening requires
/// exactly these, no WAL more or less. <see cref="LiveLogState.Open"/> (RocksDB may be writing, or
/// crashed): the MANIFEST in use and its size when recorded; opening requires CURRENT to name that
/// MANIFEST or a newer one, and that MANIFEST to be no shorter. After a crash, WALs are checked by
/// RocksDB's own tracking (<c>track_and_verify_wals_in_manifest</c>).
/// </remarks>
internal sealed class LiveLogRecord
{
    /// <summary>The record's file name in the store root (never a name RocksDB parses as its own).</summary>
    public const string FileName = "EKV-LIVELOGS";

    private const int MaxBytes = 1 << 20;
    private const int MaxCurrentBytes = 4096;
    /// <summary>Version 1: no per-file flags (written before log-like files had final frames).</summary>
    private static ReadOnlySpan<byte> MagicV1 => "EKVLIVE1"u8;

    /// <summary>Version 2: the store epoch after the state, and a flags byte per file (<see cref="FlagClosed"/>).</summary>
    private static ReadOnlySpan<byte> Magic => "EKVLIVE2"u8;

    /// <summary>Per-file flag: the file ended in its authenticated final frame when recorded.</summary>
    private const byte FlagClosed = 1;

    private LiveLogRecord(LiveLogState state, ulong? epoch, ulong manifestNumber, IReadOnlyList<(string Name, long Size, bool Closed)> files)
    {
        State = state;
        Epoch = epoch;
        ManifestNumber = manifestNumber;
        Files = files;
    }

    public LiveLogState State { get; }

    /// <summary>
    /// The store epoch (key registry generation) when the record was written; null in records of
    /// version 1. Binds the log files to the registry: older data files restored under the
    /// current registry carry an older record.
    /// </summary>
    public ulong? Epoch { get; }

    /// <summary>Number of the MANIFEST CURRENT named when the record was written; 0 before the first.</summary>
    public ulong ManifestNumber { get; }

    /// <summary>
    /// Names (in the store root) and logical sizes the record vouches for, and whether each ended in
    /// its final frame (a clean close by this plugin; always false in a version 1 record).
    /// </summary>
    public IReadOnlyList<(string Name, long Size, bool Closed)> Files { get; }

    /// <summary>
    /// Checks the store's log files against the record before RocksDB opens (or reads) them.
    /// </summary>
    /// <param name="files">The store's files.</param>
    /// <param name="layout">The store's layout.</param>
    /// <param name="epoch">The generation of the key registry in force.</param>
    /// <param name="registryFromPrevious">The registry in force is KEYRING.prev (KEYRING was torn).</param>
    /// <exception cref="IntegrityException">The record is missing, cut or forged, belongs to another
    /// store epoch than the registry, or a log file it vouches for is missing, shorter, longer or unexpected.</exception>
    /// <exception cref="KeyUnavailableException">The record's key cannot be obtained.</exception>
    /// <exception cref="KeyUnavailableException">The record's key cannot be obtained.</exception>
    public static void CheckBeforeOpen(StoreFiles files, StoreLayout layout, ulong epoch, bool registryFromPrevious)
    {
        string recordPath = PathOf(layout);
        if (!files.Exists(recordPath))
        {
            if (!HasDatabaseFiles(files, layout))
            {
                return; // the first open crashed between creating the registry and the record
            }
            throw new IntegrityException(
                $"The record of live log files ({FileName}) is missing from {layout.Root}: it is written before the store's first MANIFEST, so it was deleted; the store's log files cannot be trusted.",
                recordPath);
        }
        LiveLogRecord record = Read(files, recordPath);
        CheckEpoch(record, epoch, registryFromPrevious, recordPath);
        (ulong current, string manifest) = ReadCurrent(files, layout, record);
        if (record.State == LiveLogState.Closed)
        {
            if (current != record.ManifestNumber)
            {
                throw new IntegrityException(
                    $"CURRENT names {Path.GetFileName(manifest)} but the store was closed with MANIFEST-{record.ManifestNumber:D6} (a restored or forged CURRENT or record).",
                    layout.Root + "/CURRENT");
            }
            var expected = new HashSet<string>(StringComparer.Ordinal);
            foreach ((string name, long size, bool closed) in record.Files)
            {
                expected.Add(name);
                string path = layout.Root + "/" + name;
                if (!files.Exists(path))
                {
                    throw new IntegrityException($"{name} is missing: the store was closed with it ({size} bytes).", path);
                }
                // Authenticates every frame: a closed file has no torn tail, so a damaged last
                // frame is tampering here, not a crash. A file that ended in its final frame must
                // still end in it (a cut at the last frame boundary loses no byte, but is a cut).
                VerifiedFile verified = closed ? files.VerifyClosed(path) : files.Verify(path);
                long actual = verified.LogicalBytes;
                if (verified.TornTail)
                {
                    throw new IntegrityException($"{name} ends in a damaged frame, but the store was closed cleanly with it ({size} bytes).", path);
                }
                if (actual != size)
                {
                    throw new IntegrityException(
                        $"{name} holds {actual} bytes but the store was closed with {size} ({(actual < size ? "cut or restored from an older copy" : "appended to")}).",
                        path);
                }
            }
            foreach (string name in files.List(layout.Root))
            {
                if (IsWal(name) && !expected.Contains(name))
                {
                    throw new IntegrityException($"{name} was not in the store when it was closed (a planted or restored WAL).", layout.Root + "/" + name);
                }
            }
            return;
        }
        if (current < record.ManifestNumber)
        {
            throw new IntegrityException(
                $"CURRENT names {Path.GetFileName(manifest)}, older than MANIFEST-{record.ManifestNumber:D6} the store was using (a restored CURRENT or MANIFEST).",
                layout.Root + "/CURRENT");
        }
        if (current == record.ManifestNumber && record.Files.Count > 0)
        {
            long recorded = record.Files[0].Size;
            long actual = files.LogicalSizeOf(manifest);
            if (actual < recorded)
            {
                throw new IntegrityException(
                    $"{Path.GetFileName(manifest)} holds {(actual < 0 ? "nothing (missing)" : actual + " bytes")} but had {recorded} when the store last opened (cut, deleted or restored from an older copy).",
                    manifest);
            }
        }
    }

    /// <summary>
    /// Writes an <see cref="LiveLogState.Open"/> record: before RocksDB opens (the MANIFEST CURRENT
    /// names now, if any) and after (the MANIFEST RocksDB opened with).
    /// </summary>
    /// <exception cref="EngineException">The record cannot be written.</exception>
    public static void WriteOpen(StoreFiles files, StoreLayout layout, ulong epoch)
    {
        var list = new List<(string, long, bool)>();
        ulong number = 0;
        if (TryReadCurrent(files, layout, out number, out string manifest))
        {
            long size = files.LogicalSizeOf(manifest);
            if (size >= 0)
            {
                list.Add((Path.GetFileName(manifest), size, false));
            }
        }
        Write(files, layout, new LiveLogRecord(LiveLogState.Open, epoch, number, list));
    }

    /// <summary>
    /// Writes a <see cref="LiveLogState.Closed"/> record once RocksDB has closed: the MANIFEST,
    /// CURRENT and every WAL with its exact logical size, and for each whether it ends in its final
    /// frame (then the check demands it).
    /// </summary>
    /// <exception cref="EngineException">The record cannot be written.</exception>
    public static void WriteClosed(StoreFiles files, StoreLayout layout, ulong epoch)
    {
        if (!TryReadCurrent(files, layout, out ulong number, out string manifest))
        {
            return; // no database yet: the Open record written before RocksDB stays in force
        }
        // The end of each file as it is now: its size, and whether it ends in its final frame (a file
        // RocksDB closed through this plugin does; a WAL left by a crashed run, or a file written
        // before final frames existed, does not, and is then held to its size only).
        (string, long, bool) Entry(string name)
        {
            string path = layout.Root + "/" + name;
            return files.ProbeEnd(path) is (long size, bool closed) ? (name, size, closed) : (name, files.LogicalSizeOf(path), false);
        }
        var list = new List<(string, long, bool)> { Entry(Path.GetFileName(manifest)), Entry("CURRENT") };
        if (files.LogicalSizeOf(layout.Root + "/IDENTITY") >= 0)
        {
            list.Add(Entry("IDENTITY")); // RocksDB would silently make a new one
        }
        foreach (string name in files.List(layout.Root).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            // OPTIONS too: the engine never reads them, but tools (ldb) do, and a cut one should not
            // pass for the store's own.
            if (IsWal(name) || name.StartsWith("OPTIONS-", StringComparison.Ordinal))
            {
                list.Add(Entry(name));
            }
        }
        if (list.Any(f => f.Item2 < 0))
        {
            return; // a file vanished under us: not a clean state to vouch for; the Open record stays
        }
        Write(files, layout, new LiveLogRecord(LiveLogState.Closed, epoch, number, list));
    }

    /// <summary>
    /// The record must belong to the registry in force. Nothing writes the registry while the store is
    /// closed, and a clean close advances the epoch before the closed record is written, so a closed
    /// record names exactly the registry's generation (or the next one, when KEYRING is torn and its
    /// previous generation is in force). An open record (the last run crashed) was written at the
    /// open, and the registry may have grown since: it may not name a later epoch.
    /// </summary>
    private static void CheckEpoch(LiveLogRecord record, ulong epoch, bool registryFromPrevious, string recordPath)
    {
        if (record.Epoch is not ulong recorded)
        {
            return; // written by an earlier version, before the epoch was recorded
        }
        bool ok = record.State == LiveLogState.Closed
            ? recorded == epoch || (registryFromPrevious && recorded == epoch + 1)
            : recorded <= epoch || (registryFromPrevious && recorded == epoch + 1);
        if (!ok)
        {
            throw new IntegrityException(
                string.Create(CultureInfo.InvariantCulture, $"The record of live log files ({FileName}) was written at store epoch {recorded} ({(record.State == LiveLogState.Closed ? "closed" : "open")}), but the key registry in force is epoch {epoch}: the store's files and its key registry come from different points in time (an older copy of one of them was restored)."),
                recordPath);
        }
    }

    private static string PathOf(StoreLayout layout) => layout.Root + "/" + FileName;

    /// <summary>
    /// Whether RocksDB ever made this database: CURRENT, a MANIFEST, a WAL or an SST exists. Without
    /// them nothing was ever acknowledged, so there is nothing a missing record could hide.
    /// </summary>
    private static bool HasDatabaseFiles(StoreFiles files, StoreLayout layout) =>
        files.AllFiles(layout).Select(Path.GetFileName).Any(name =>
            name is not null && (name == "CURRENT" || name.StartsWith("MANIFEST-", StringComparison.Ordinal) || IsWal(name) || name.EndsWith(".sst", StringComparison.Ordinal)));

    /// <summary>A WAL as RocksDB names it: digits, then <c>.log</c>.</summary>
    private static bool IsWal(string name) =>
        name.Length > 4 && name.EndsWith(".log", StringComparison.Ordinal) && name[..^4].All(char.IsAsciiDigit);

    private static void Write(StoreFiles files, StoreLayout layout, LiveLogRecord record)
    {
        var body = new List<byte>(256);
        Span<byte> scratch = stackalloc byte[8];
        body.AddRange(Magic);
        body.Add((byte)record.State);
        BinaryPrimitives.WriteUInt64LittleEndian(scratch, record.Epoch ?? 0);
        body.AddRange(scratch.ToArray());
        BinaryPrimitives.WriteUInt64LittleEndian(scratch, record.ManifestNumber);
        body.AddRange(scratch.ToArray());
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, (uint)record.Files.Count);
        body.AddRange(scratch[..4].ToArray());
        foreach ((string name, long size, bool closed) in record.Files)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(name);
            BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)utf8.Length);
            body.AddRange(scratch[..2].ToArray());
            body.AddRange(utf8);
            BinaryPrimitives.WriteInt64LittleEndian(scratch, size);
            body.AddRange(scratch.ToArray());
            body.Add(closed ? FlagClosed : (byte)0);
        }
        // The total length last: a record cut at a frame boundary (which authenticates) cannot end
        // with its own length.
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, (uint)(body.Count + 4));
        body.AddRange(scratch[..4].ToArray());
        files.ReplaceSmall(PathOf(layout), body.ToArray());
    }

    private static LiveLogRecord Read(StoreFiles files, string path)
    {
        LiveLogRecord record = Parse(files.ReadSmall(path, MaxBytes), path);
        // A version 2 record is written whole and closed (ReplaceSmall), so it ends in its final
        // frame: a damaged frame after its last byte of data is tampering, not a torn tail.
        if (record.Epoch is not null && files.VerifyClosed(path).TornTail)
        {
            throw new IntegrityException($"The record of live log files ({FileName}) ends in a damaged frame, but it is written whole and closed.", path);
        }
        return record;
    }

    /// <summary>Decodes a record body (version 1 or 2) as read, authenticated, from <paramref name="path"/>.</summary>
    /// <exception cref="IntegrityException">The body is cut or malformed.</exception>
    internal static LiveLogRecord Parse(byte[] data, string path)
    {
        try
        {
            ReadOnlySpan<byte> span = data;
            if (span.Length < Magic.Length + 1 + 8 + 4 + 4 || BinaryPrimitives.ReadUInt32LittleEndian(span[^4..]) != (uint)span.Length)
            {
                throw new FormatException("bad length");
            }
            bool v2 = span[..Magic.Length].SequenceEqual(Magic);
            if (!v2 && !span[..MagicV1.Length].SequenceEqual(MagicV1))
            {
                throw new FormatException("bad magic");
            }
            int at = Magic.Length;
            var state = (LiveLogState)span[at++];
            if (state is not (LiveLogState.Open or LiveLogState.Closed))
            {
                throw new FormatException("bad state");
            }
            ulong? epoch = null;
            if (v2)
            {
                epoch = BinaryPrimitives.ReadUInt64LittleEndian(span[at..]);
                at += 8;
            }
            ulong manifest = BinaryPrimitives.ReadUInt64LittleEndian(span[at..]);
            at += 8;
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            at += 4;
            var list = new List<(string, long, bool)>();
            for (uint i = 0; i < count; i++)
            {
                int length = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
                at += 2;
                string name = Encoding.UTF8.GetString(span.Slice(at, length));
                at += length;
                long size = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
                at += 8;
                byte flags = 0;
                if (v2)
                {
                    flags = span[at++];
                    if ((flags & ~FlagClosed) != 0)
                    {
                        throw new FormatException("unknown file flags");
                    }
                }
                list.Add((name, size, (flags & FlagClosed) != 0));
            }
            return at + 4 == span.Length ? new LiveLogRecord(state, epoch, manifest, list) : throw new FormatException("trailing bytes");
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            throw new IntegrityException($"The record of live log files ({FileName}) is cut or malformed: {ex.Message}.", path);
        }
    }

    private static (ulong Number, string Path) ReadCurrent(StoreFiles files, StoreLayout layout, LiveLogRecord record)
    {
        if (!TryReadCurrent(files, layout, out ulong number, out string manifest))
        {
            if (record.ManifestNumber == 0 && record.State == LiveLogState.Open && !HasDatabaseFiles(files, layout))
            {
                return (0, ""); // the store's first open crashed before RocksDB wrote CURRENT
            }
            throw new IntegrityException($"CURRENT is missing or names no MANIFEST, but the store had MANIFEST-{record.ManifestNumber:D6}.", layout.Root + "/CURRENT");
        }
        return (number, manifest);
    }

    private static bool TryReadCurrent(StoreFiles files, StoreLayout layout, out ulong number, out string manifest)
    {
        number = 0;
        manifest = "";
        string current = layout.Root + "/CURRENT";
        if (!files.Exists(current))
        {
            return false;
        }
        string text = Encoding.UTF8.GetString(files.ReadSmall(current, MaxCurrentBytes)).TrimEnd('\n');
        if (!text.StartsWith("MANIFEST-", StringComparison.Ordinal)
            || !ulong.TryParse(text.AsSpan("MANIFEST-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            return false;
        }
        manifest = layout.Root + "/" + text;
        return true;
    }
}

/// <summary>What a <see cref="LiveLogRecord"/> vouches for.</summary>
internal enum LiveLogState : byte
{
    /// <summary>RocksDB may be writing (or crashed): the MANIFEST in use and a lower bound of its size.</summary>
    Open = 1,

    /// <summary>Closed cleanly: the exact set and sizes of the log files.</summary>
    Closed = 2,
}
