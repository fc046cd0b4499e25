using System.Buffers.Binary;
using System.Security.Cryptography;
using Engine.Crypto;
using Microsoft.Win32.SafeHandles;

namespace Engine;

/// <summary>
/// A managed reader (and re-wrapper) of the two-slot file header of docs/format.md, independent of
/// the native plugin: tests use it to look at <em>both</em> slots of a file.
/// </summary>
internal sealed class ManagedFileHeaders(FileKeyService keys) : IFileHeaders
{
    public const int RegionSize = 1024;
    public const int SlotSize = 512;
    public const int AadSize = 40;
    private const int EnvelopeOffset = 48;
    private const int ChecksumOffset = 504;
    private const ushort FormatVersion = 2;

    private static ReadOnlySpan<byte> Magic => "EKVFILE1"u8;

    /// <inheritdoc/>
    public HeaderState Read(string path, out FileHeaderInfo info, out string? problem)
    {
        info = default;
        problem = null;
        byte[]? region = ReadRegion(path, out HeaderState state, out problem);
        if (region is null)
        {
            return state;
        }

        int active = ActiveSlot(region, out problem);
        if (active < 0)
        {
            return HeaderState.Unreadable;
        }

        return TryDescribe(region.AsSpan(active * SlotSize, SlotSize), out info, out problem) ? HeaderState.Ok : HeaderState.Unreadable;
    }

    /// <summary>Both slots of a file: the one in force first, then the other (null when not valid).</summary>
    public static (FileHeaderInfo? Active, FileHeaderInfo? Other) ReadBoth(string path)
    {
        byte[]? region = ReadRegion(path, out _, out _);
        if (region is null)
        {
            return (null, null);
        }

        int active = ActiveSlot(region, out _);
        if (active < 0)
        {
            return (null, null);
        }

        FileHeaderInfo? Describe(int slot) =>
            SlotProblem(region.AsSpan(slot * SlotSize, SlotSize)) is null && TryDescribe(region.AsSpan(slot * SlotSize, SlotSize), out FileHeaderInfo i, out _) ? i : null;
        return (Describe(active), Describe(1 - active));
    }

    /// <inheritdoc/>
    public RewrapState Rewrap(string path)
    {
        byte[]? region = ReadRegion(path, out HeaderState state, out string? problem);
        if (region is null)
        {
            return state == HeaderState.Missing ? RewrapState.Missing : throw new IntegrityException($"{path}: {problem}", path);
        }

        int active = ActiveSlot(region, out problem);
        if (active < 0)
        {
            throw new IntegrityException($"{path}: {problem}", path);
        }

        ReadOnlySpan<byte> old = region.AsSpan(active * SlotSize, SlotSize);
        ushort envelopeLength = BinaryPrimitives.ReadUInt16LittleEndian(old[44..]);
        byte[] slot = new byte[SlotSize];
        old[..EnvelopeOffset].CopyTo(slot);
        BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(32), BinaryPrimitives.ReadUInt64LittleEndian(old[32..]) + 1);
        int length = keys.RewrapFileKey(path, old[..AadSize], old.Slice(EnvelopeOffset, envelopeLength), slot.AsSpan(0, AadSize), slot.AsSpan(EnvelopeOffset, FileKeyService.MaxEnvelopeSize));
        BinaryPrimitives.WriteUInt16LittleEndian(slot.AsSpan(44), (ushort)length);
        SHA256.HashData(slot.AsSpan(0, ChecksumOffset)).AsSpan(0, 8).CopyTo(slot.AsSpan(ChecksumOffset));
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            RandomAccess.Write(handle, slot, (1 - active) * SlotSize);
            RandomAccess.FlushToDisk(handle);
        }
        catch (FileNotFoundException)
        {
            return RewrapState.Missing;
        }

        return RewrapState.Rewrapped;
    }

    private static byte[]? ReadRegion(string path, out HeaderState state, out string? problem)
    {
        problem = null;
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long size = RandomAccess.GetLength(handle);
            if (size == 0)
            {
                state = HeaderState.Empty;
                return null;
            }

            if (size < RegionSize)
            {
                state = HeaderState.Unreadable;
                problem = $"header truncated ({size} bytes)";
                return null;
            }

            byte[] region = new byte[RegionSize];
            RandomAccess.Read(handle, region, 0);
            state = HeaderState.Ok;
            return region;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            state = HeaderState.Missing;
            return null;
        }
    }

    /// <summary>Index of the valid slot with the highest generation (A on a tie), or -1.</summary>
    private static int ActiveSlot(byte[] region, out string? problem)
    {
        string? a = SlotProblem(region.AsSpan(0, SlotSize));
        string? b = SlotProblem(region.AsSpan(SlotSize, SlotSize));
        problem = a is not null && b is not null ? $"header has no valid slot (slot A: {a}, slot B: {b})" : null;
        if (problem is not null)
        {
            return -1;
        }

        if (a is not null || b is not null)
        {
            return a is null ? 0 : 1;
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(region.AsSpan(SlotSize + 32)) > BinaryPrimitives.ReadUInt64LittleEndian(region.AsSpan(32)) ? 1 : 0;
    }

    private static string? SlotProblem(ReadOnlySpan<byte> slot)
    {
        if (!slot.ContainsAnyExcept((byte)0))
        {
            return "all zero";
        }

        if (!SHA256.HashData(slot[..ChecksumOffset]).AsSpan(0, 8).SequenceEqual(slot[ChecksumOffset..]))
        {
            return "checksum mismatch";
        }

        uint frame = BinaryPrimitives.ReadUInt32LittleEndian(slot[12..]);
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(slot[44..]);
        bool valid = slot[..8].SequenceEqual(Magic)
            && BinaryPrimitives.ReadUInt16LittleEndian(slot[8..]) == FormatVersion
            && BinaryPrimitives.ReadUInt16LittleEndian(slot[10..]) == 1
            && frame >= 512 && frame <= (1 << 20) && (frame & (frame - 1)) == 0
            && BinaryPrimitives.ReadUInt64LittleEndian(slot[32..]) >= 1
            && BinaryPrimitives.ReadUInt32LittleEndian(slot[40..]) == 0
            && BinaryPrimitives.ReadUInt16LittleEndian(slot[46..]) == 0
            && length is >= 1 and <= FileKeyService.MaxEnvelopeSize
            && !slot[(EnvelopeOffset + length)..ChecksumOffset].ContainsAnyExcept((byte)0);
        return valid ? null : "invalid fields";
    }

    private static bool TryDescribe(ReadOnlySpan<byte> slot, out FileHeaderInfo info, out string? problem)
    {
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(slot[44..]);
        if (!KeyEnvelope.TryReadFields(slot.Slice(EnvelopeOffset, length), out KeyScope scope, out uint version, out string why))
        {
            info = default;
            problem = why;
            return false;
        }

        info = new FileHeaderInfo(scope, version, BinaryPrimitives.ReadUInt64LittleEndian(slot[32..]));
        problem = null;
        return true;
    }
}
