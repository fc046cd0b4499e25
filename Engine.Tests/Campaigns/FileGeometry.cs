using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Where the header slots and frames of an encrypted file lie, computed from its bytes as docs/format.md
/// (format version 2; immutable files of format version 3 are walked by their frame lengths, those of format version 4
/// located through their frame index, which v4 keeps in clear) describes: a header region of two 512-byte slots, then frames
/// <c>n (u32) | sync distance (u32) | check (u32) | nonce (12) | ciphertext (n) | tag (16)</c>. Immutable
/// files (<c>*.sst</c>, <c>*.blob</c>) have a fixed stride of F+40; log-like files are walked through their
/// frame headers (the check is an unkeyed hash of file id, index, n and sync distance). The campaigns use
/// this to aim mutations and to classify them; it never decrypts anything.
/// </summary>
internal sealed class FileGeometry
{
    public const int HeaderRegion = 1024;
    public const int SlotSize = 512;
    public const int FrameHeaderSize = 12;
    public const int FrameOverhead = FrameHeaderSize + 12 + 16; // 40
    public const int ChecksumOffset = 504;
    public const int FormatVersion = 2;

    /// <summary>Immutable files in format 3 (docs/format.md, "Format v3"): frames of any length, a frame index, a 16-byte trailer.</summary>
    public const int IndexedFormatVersion = 3;

    /// <summary>Immutable files in format 4 (docs/format.md, "Format v4"): data frames of ciphertext and tag only (16 bytes of overhead), the frame index in clear.</summary>
    public const int CompactFormatVersion = 4;

    /// <summary>The trailer after the frame index of a format 3 or 4 file.</summary>
    public const int IndexTrailerSize = 16;

    private FileGeometry(long length, int frameSize, bool immutable, IReadOnlyList<(long Offset, int Length)> frames, long tailBytes)
    {
        Length = length;
        FrameSize = frameSize;
        Immutable = immutable;
        Frames = frames;
        TailBytes = tailBytes;
    }

    /// <summary>Physical size.</summary>
    public long Length { get; }

    /// <summary>F from slot A (the default when slot A is unreadable).</summary>
    public int FrameSize { get; }

    /// <summary>A file that must end with a final frame (SST, blob): fixed stride.</summary>
    public bool Immutable { get; }

    /// <summary>Every frame found: physical offset and stored length (header, nonce, ciphertext, tag).</summary>
    public IReadOnlyList<(long Offset, int Length)> Frames { get; }

    /// <summary>Bytes after the last frame found (a torn remainder, or the unwalkable rest).</summary>
    public long TailBytes { get; }

    /// <summary>Largest damaged end a reader may take for a torn write: one frame.</summary>
    public int MaxTornBytes => FrameSize + FrameOverhead;

    public static bool IsImmutable(string path) =>
        path.EndsWith(".sst", StringComparison.Ordinal) || path.EndsWith(".blob", StringComparison.Ordinal);

    public static FileGeometry Of(string path, byte[] content)
    {
        int f = StoreOptions.DefaultFrameSize;
        if (content.Length >= SlotSize)
        {
            int declared = BinaryPrimitives.ReadInt32LittleEndian(content.AsSpan(12));
            if (declared >= 512 && declared <= (1 << 20) && (declared & (declared - 1)) == 0)
            {
                f = declared;
            }
        }
        bool immutable = IsImmutable(path);
        var frames = new List<(long, int)>();
        long pos = HeaderRegion;
        if (content.Length > HeaderRegion)
        {
            if (immutable && BinaryPrimitives.ReadUInt16LittleEndian(content.AsSpan(8)) == CompactFormatVersion)
            {
                pos = CompactFrames(content, f, frames);
            }
            else if (immutable && BinaryPrimitives.ReadUInt16LittleEndian(content.AsSpan(8)) == IndexedFormatVersion)
            {
                // Data frames then index frames, walked by their length fields (at most 8F each); the
                // 16-byte trailer is left as the tail.
                long end = content.Length - IndexTrailerSize;
                while (pos + FrameOverhead <= end)
                {
                    uint n = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)pos));
                    if (n > 8L * f || pos + FrameOverhead + n > end)
                    {
                        break;
                    }
                    frames.Add((pos, (int)(FrameOverhead + n)));
                    pos += FrameOverhead + n;
                }
            }
            else if (immutable)
            {
                long stride = f + FrameOverhead;
                while (pos + stride <= content.Length)
                {
                    frames.Add((pos, (int)stride));
                    pos += stride;
                }
                if (content.Length - pos >= FrameOverhead)
                {
                    frames.Add((pos, (int)(content.Length - pos)));
                    pos = content.Length;
                }
            }
            else
            {
                ReadOnlySpan<byte> fileId = content.AsSpan(16, 16);
                while (pos + FrameOverhead <= content.Length)
                {
                    uint n = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)pos));
                    uint b = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)pos + 4));
                    uint check = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)pos + 8));
                    if (n > f || check != HeaderCheck(fileId, (ulong)frames.Count, n, b) || pos + FrameOverhead + n > content.Length)
                    {
                        break;
                    }
                    frames.Add((pos, (int)(FrameOverhead + n)));
                    pos += FrameOverhead + n;
                }
            }
        }
        return new FileGeometry(content.Length, f, immutable, frames, Math.Max(0, content.Length - Math.Max(pos, HeaderRegion)));
    }

    /// <summary>
    /// Format 4: the trailer (logical size, k, "EKI4") locates the index frames (40-byte framing, their stream in
    /// clear: an 8-byte nonce prefix, then each data frame's length); data frames are then laid out from byte 1024,
    /// each its length plus 16. Adds data frames, then index frames; returns where the trailer starts (the 16-byte
    /// trailer is left as the tail), or 1024 when the file is not a well-formed v4 file (all of it is the tail).
    /// </summary>
    private static long CompactFrames(byte[] content, int f, List<(long, int)> frames)
    {
        long trailerAt = content.Length - IndexTrailerSize;
        if (trailerAt < HeaderRegion || !content.AsSpan((int)trailerAt + 12, 4).SequenceEqual("EKI4"u8))
        {
            return HeaderRegion;
        }
        long k = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)trailerAt + 8));
        long stream = 8 + 4 * k;
        long perFrame = 8L * f;
        long m = Math.Max(1, (stream + perFrame - 1) / perFrame);
        long indexAt = trailerAt - (stream + m * FrameOverhead);
        if (indexAt < HeaderRegion)
        {
            return HeaderRegion;
        }
        var index = new List<(long, int)>();
        var entries = new List<byte>();
        for (long pos = indexAt; pos < trailerAt;)
        {
            uint n = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan((int)pos));
            if (n > perFrame || pos + FrameOverhead + n > trailerAt)
            {
                return HeaderRegion;
            }
            index.Add((pos, (int)(FrameOverhead + n)));
            entries.AddRange(content.AsSpan((int)pos + 24, (int)n).ToArray());
            pos += FrameOverhead + n;
        }
        if (entries.Count != stream)
        {
            return HeaderRegion;
        }
        long at = HeaderRegion;
        byte[] e = entries.ToArray();
        for (int i = 0; i < k; i++)
        {
            uint n = BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(8 + 4 * i));
            if (at + n + CompactDataFrameOverhead > indexAt)
            {
                return HeaderRegion;
            }
            frames.Add((at, (int)(n + CompactDataFrameOverhead)));
            at += n + CompactDataFrameOverhead;
        }
        if (at != indexAt)
        {
            frames.Clear();
            return HeaderRegion;
        }
        frames.AddRange(index);
        return trailerAt;
    }

    /// <summary>Stored bytes of a format 4 data frame besides its plaintext: the GCM tag.</summary>
    public const int CompactDataFrameOverhead = 16;

    /// <summary>Index of the frame holding physical offset <paramref name="offset"/>, or -1 (header, tail remainder).</summary>
    public int FrameAt(long offset)
    {
        for (int i = 0; i < Frames.Count; i++)
        {
            if (offset >= Frames[i].Offset && offset < Frames[i].Offset + Frames[i].Length)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>First byte of the frame holding <paramref name="offset"/> (or the offset itself in the header or the remainder).</summary>
    public long FrameStartOf(long offset)
    {
        int i = FrameAt(offset);
        return i >= 0 ? Frames[i].Offset : offset;
    }

    /// <summary>The frame header check of format 2 (splitmix64 over file id, index, n and sync distance).</summary>
    public static uint HeaderCheck(ReadOnlySpan<byte> fileId, ulong index, uint n, uint syncDistance)
    {
        static ulong Mix(ulong x)
        {
            x = unchecked(x + 0x9e3779b97f4a7c15UL);
            x = unchecked((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL);
            x = unchecked((x ^ (x >> 27)) * 0x94d049bb133111ebUL);
            return x ^ (x >> 31);
        }
        ulong acc = Mix(BinaryPrimitives.ReadUInt64LittleEndian(fileId) ^ 0x454b5646484452UL);
        acc = Mix(acc ^ BinaryPrimitives.ReadUInt64LittleEndian(fileId[8..]));
        acc = Mix(acc ^ index);
        acc = Mix(acc ^ (((ulong)n << 32) | syncDistance));
        return (uint)(acc ^ (acc >> 32));
    }

    /// <summary>
    /// The slot a reader uses: the one with a matching checksum, the magic and the higher generation
    /// (slot A on a tie); -1 when neither qualifies. (The plugin also checks the other fields; this is
    /// enough to tell which slot is in force in the files of a real store.)
    /// </summary>
    public static int ActiveSlot(ReadOnlySpan<byte> content)
    {
        if (content.Length < HeaderRegion)
        {
            return -1;
        }
        static ulong? Generation(ReadOnlySpan<byte> slot) =>
            SlotChecksumMatches(slot) && slot[..8].SequenceEqual("EKVFILE1"u8) ? BinaryPrimitives.ReadUInt64LittleEndian(slot[32..]) : null;
        ulong? a = Generation(content[..SlotSize]);
        ulong? b = Generation(content[SlotSize..HeaderRegion]);
        return a is null && b is null ? -1 : b is null || (a is not null && a >= b) ? 0 : 1;
    }

    /// <summary>True when bytes 512..1023 are all zero: slot B unused (no re-wrap yet).</summary>
    public static bool SlotBUnused(ReadOnlySpan<byte> content) =>
        content.Length >= HeaderRegion && !content[SlotSize..HeaderRegion].ContainsAnyExcept((byte)0);

    /// <summary>True when a 512-byte slot is not all zero and carries a matching checksum (the first gate of slot validity).</summary>
    public static bool SlotChecksumMatches(ReadOnlySpan<byte> slot)
    {
        if (slot.Length < SlotSize || !slot[..SlotSize].ContainsAnyExcept((byte)0))
        {
            return false;
        }
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(slot[..ChecksumOffset], hash);
        return hash[..8].SequenceEqual(slot.Slice(ChecksumOffset, 8));
    }

    /// <summary>Recomputes the checksum of the slot at <paramref name="slotOffset"/> in place.</summary>
    public static void FixSlotChecksum(Span<byte> content, int slotOffset)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(content.Slice(slotOffset, ChecksumOffset), hash);
        hash[..8].CopyTo(content[(slotOffset + ChecksumOffset)..]);
    }
}
