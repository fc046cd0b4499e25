using System.Buffers.Binary;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace Engine.Tests.Campaigns;

/// <summary>A field of header slot A (docs/format.md, "Header region"), or a spot next to it, that a fuzz case edits.</summary>
internal enum HeaderField
{
    Magic,
    Version,
    Suite,
    FrameSize,
    FileId,
    Generation,
    Flags,
    EnvelopeLength,
    Reserved,
    EnvelopeByte,
    PaddingByte,
    Checksum,
    SlotBCopy,
    SlotBByte,
    FirstFrameHeader,
}

internal sealed record FieldEdit(HeaderField Field, ulong Value, int Position)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Field}={Value:x}@{Position}");
}

/// <summary>One fuzz case: a recipe applied to a real file of the fuzz store (<see cref="Source"/> picks it).</summary>
internal abstract record FuzzCase(int Source)
{
    public abstract string Kind { get; }
}

/// <summary>A real file's header with field edits; the checksum recomputed or not; the frames kept or dropped.</summary>
internal sealed record MutatedHeaderCase(int Source, FieldEdit[] Edits, bool FixChecksum, bool KeepFrames) : FuzzCase(Source)
{
    public override string Kind => "valid header, fields mutated";

    public override string ToString() =>
        $"{Kind}: [{string.Join(", ", Edits.Select(e => e.ToString()))}] checksum {(FixChecksum ? "recomputed" : "kept")}, frames {(KeepFrames ? "kept" : "dropped")}";
}

/// <summary>Random bytes (optionally starting with the magic) written as a file.</summary>
internal sealed record RandomBytesCase(int Source, byte[] Bytes, bool WithMagic) : FuzzCase(Source)
{
    public override string Kind => "random bytes";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind}: {Bytes.Length} bytes{(WithMagic ? " after the magic" : string.Empty)}");
}

/// <summary>A real file cut to <see cref="Length"/> bytes (0..2048: inside the header region or the first frames).</summary>
internal sealed record TruncatedCase(int Source, int Length) : FuzzCase(Source)
{
    public override string Kind => "truncated file";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind}: cut to {Length} bytes");
}

/// <summary>FsCheck generators of header fuzz cases, and how a case becomes bytes.</summary>
internal static class HeaderFuzzCases
{
    private static readonly ulong[] s_interesting =
    [
        0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x1FF, 0x200, 0x201, 0x3FF, 0x400, 0xFFF, 0x1000, 0x1001, 0x2000, 0xFFFF, 0x10000,
        0x80000, 0xFFFFF, 0x100000, 0x100001, 0x200000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, ulong.MaxValue,
        70, 69, 71, 400, 401, 456, 4096 + 28, 4096 + 40, 0x314546494C56454B, // "EKVFILE1"
    ];

    private static Gen<ulong> Value() =>
        Gen.Frequency(
            (3, Gen.Elements(s_interesting)),
            (2, Gen.Choose(0, int.MaxValue).Select(v => (ulong)v)),
            (1, Gen.Choose(int.MinValue, int.MaxValue).SelectMany(hi => Gen.Choose(int.MinValue, int.MaxValue).Select(lo => ((ulong)(uint)hi << 32) | (uint)lo))));

    private static Gen<FieldEdit> Edit() =>
        Gen.Elements(Enum.GetValues<HeaderField>())
            .SelectMany(f => Value().SelectMany(v => Gen.Choose(0, 1 << 20).Select(p => new FieldEdit(f, v, p))));

    public static Gen<FuzzCase> Case() =>
        Gen.Frequency(
            (6, Gen.Choose(0, 999).SelectMany(src => Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Edit(), n))
                .SelectMany(edits => Gen.Frequency((7, Gen.Constant(true)), (3, Gen.Constant(false)))
                .SelectMany(fix => Gen.Elements(true, false).Select(keep => (FuzzCase)new MutatedHeaderCase(src, edits, fix, keep)))))),
            (2, Gen.Choose(0, 999).SelectMany(src => Gen.Frequency((1, Gen.Choose(0, 64)), (3, Gen.Choose(0, 2048)), (1, Gen.Choose(2048, 6000)))
                .SelectMany(len => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), len))
                .SelectMany(bytes => Gen.Elements(true, false).Select(magic => (FuzzCase)new RandomBytesCase(src, bytes, magic))))),
            (2, Gen.Choose(0, 999).SelectMany(src => Gen.Frequency((1, Gen.Choose(0, 40)), (2, Gen.Choose(0, 1100)), (2, Gen.Choose(0, 2048)))
                .Select(len => (FuzzCase)new TruncatedCase(src, len)))));

    /// <summary>The <paramref name="count"/> cases of a run, from FsCheck's generator seeded with <paramref name="seed"/>.</summary>
    public static FuzzCase[] Generate(int seed, int count) =>
        Gen.Sample(Case(), count, new Rnd((ulong)(uint)seed), 50);

    /// <summary>The bytes of a case built from <paramref name="source"/> (a real encrypted file).</summary>
    public static byte[] Materialize(FuzzCase c, byte[] source)
    {
        switch (c)
        {
            case TruncatedCase t:
                return source[..Math.Min(t.Length, source.Length)];
            case RandomBytesCase r:
                if (!r.WithMagic)
                {
                    return r.Bytes;
                }
                byte[] withMagic = [.. "EKVFILE1"u8, .. r.Bytes];
                return withMagic;
            case MutatedHeaderCase m:
                {
                    byte[] b = m.KeepFrames ? (byte[])source.Clone() : source[..FileGeometry.HeaderRegion];
                    foreach (FieldEdit e in m.Edits)
                    {
                        Apply(b, e);
                    }
                    if (m.FixChecksum && m.Edits.All(e => e.Field != HeaderField.Checksum))
                    {
                        FileGeometry.FixSlotChecksum(b, 0);
                    }
                    return b;
                }
            default:
                throw new ArgumentException(c.GetType().Name);
        }
    }

    private static void Apply(byte[] b, FieldEdit e)
    {
        Span<byte> s = b;
        switch (e.Field)
        {
            case HeaderField.Magic: BinaryPrimitives.WriteUInt64LittleEndian(s, e.Value); break;
            case HeaderField.Version: BinaryPrimitives.WriteUInt16LittleEndian(s[8..], (ushort)e.Value); break;
            case HeaderField.Suite: BinaryPrimitives.WriteUInt16LittleEndian(s[10..], (ushort)e.Value); break;
            case HeaderField.FrameSize: BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)e.Value); break;
            case HeaderField.FileId: new Random((int)(e.Value & 0x7FFFFFFF)).NextBytes(s.Slice(16, 16)); break;
            case HeaderField.Generation: BinaryPrimitives.WriteUInt64LittleEndian(s[32..], e.Value); break;
            case HeaderField.Flags: BinaryPrimitives.WriteUInt32LittleEndian(s[40..], (uint)e.Value); break;
            case HeaderField.EnvelopeLength: BinaryPrimitives.WriteUInt16LittleEndian(s[44..], (ushort)e.Value); break;
            case HeaderField.Reserved: BinaryPrimitives.WriteUInt16LittleEndian(s[46..], (ushort)e.Value); break;
            case HeaderField.EnvelopeByte: s[48 + (e.Position % 70)] = (byte)e.Value; break;
            case HeaderField.PaddingByte: s[118 + (e.Position % 386)] = (byte)(e.Value | 1); break;
            case HeaderField.Checksum: BinaryPrimitives.WriteUInt64LittleEndian(s[504..], e.Value); break;
            case HeaderField.SlotBCopy:
                // A re-wrap look-alike: slot A copied to slot B with a higher generation (the envelope was
                // not re-made for it, so it must not unwrap), checksum valid.
                s[..FileGeometry.SlotSize].CopyTo(s[FileGeometry.SlotSize..]);
                BinaryPrimitives.WriteUInt64LittleEndian(s[(FileGeometry.SlotSize + 32)..], BinaryPrimitives.ReadUInt64LittleEndian(s[32..]) + 1 + (e.Value % 3));
                if (e.Position % 2 == 0)
                {
                    s[FileGeometry.SlotSize + 48 + (e.Position % 70)] ^= (byte)(e.Value | 1);
                }
                FileGeometry.FixSlotChecksum(s, FileGeometry.SlotSize);
                break;
            case HeaderField.SlotBByte: s[FileGeometry.SlotSize + (e.Position % FileGeometry.SlotSize)] ^= (byte)(e.Value | 1); break;
            case HeaderField.FirstFrameHeader:
                if (b.Length > FileGeometry.HeaderRegion + FileGeometry.FrameHeaderSize)
                {
                    s[FileGeometry.HeaderRegion + (e.Position % FileGeometry.FrameHeaderSize)] ^= (byte)(e.Value | 1);
                }
                break;
        }
    }
}
