using System.Buffers.Binary;
using System.Security.Cryptography;
using Engine.Crypto;
using Microsoft.Win32.SafeHandles;

namespace Engine.Tests.Rotation;

/// <summary>
/// An independent managed reader of the two-slot file header of docs/format.md: unlike the plugin's
/// <c>ekv_file_header_info</c> (slot in force only) it shows <em>both</em> slots, so tests can check
/// that no slot of a re-wrapped file keeps a wrap under a retired KEK version.
/// </summary>
internal static class HeaderSlots
{
    private const int RegionSize = 1024;
    private const int SlotSize = 512;
    private const int EnvelopeOffset = 48;
    private const int ChecksumOffset = 504;
    private const ushort FormatVersion = 2;
    private const ushort IndexedFormatVersion = 3; // SST and blob files (docs/format.md, "Format v3")
    private const ushort CompactFormatVersion = 4; // SST and blob files written now (docs/format.md, "Format v4")

    private static ReadOnlySpan<byte> Magic => "EKVFILE1"u8;

    /// <summary>Both slots of a file: the one in force first, then the other (null when not valid).</summary>
    public static (FileHeaderInfo? Active, FileHeaderInfo? Other) ReadBoth(string path)
    {
        byte[] region = new byte[RegionSize];
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (RandomAccess.Read(handle, region, 0) < RegionSize)
            {
                return (null, null);
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, null);
        }

        FileHeaderInfo? a = Describe(region.AsSpan(0, SlotSize));
        FileHeaderInfo? b = Describe(region.AsSpan(SlotSize, SlotSize));
        return b is not null && (a is null || b.Value.Generation > a.Value.Generation) ? (b, a) : (a, b);
    }

    private static FileHeaderInfo? Describe(ReadOnlySpan<byte> slot)
    {
        if (!slot.ContainsAnyExcept((byte)0) || !SHA256.HashData(slot[..ChecksumOffset]).AsSpan(0, 8).SequenceEqual(slot[ChecksumOffset..]))
        {
            return null;
        }

        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(slot[44..]);
        bool valid = slot[..8].SequenceEqual(Magic)
            && BinaryPrimitives.ReadUInt16LittleEndian(slot[8..]) is FormatVersion or IndexedFormatVersion or CompactFormatVersion
            && length is >= 1 and <= FileKeyService.MaxEnvelopeSize
            && KeyEnvelope.TryReadFields(slot.Slice(EnvelopeOffset, length), out _, out _, out _);
        if (!valid)
        {
            return null;
        }

        KeyEnvelope.TryReadFields(slot.Slice(EnvelopeOffset, length), out KeyScope scope, out uint version, out _);
        return new FileHeaderInfo(scope, version, BinaryPrimitives.ReadUInt64LittleEndian(slot[32..]));
    }
}
