using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Engine.Crypto;

/// <summary>Sequential little-endian writer over a caller-owned (typically pinned) buffer.</summary>
[StructLayout(LayoutKind.Auto)]
internal ref struct SpanWriter
{
    private readonly Span<byte> _buffer;

    public SpanWriter(Span<byte> buffer) => _buffer = buffer;

    public int Position { get; private set; }

    public void U8(byte value) => Take(1)[0] = value;

    public void U16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), value);

    public void U32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);

    public void U64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);

    public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));

    /// <summary>A u16 length followed by the bytes.</summary>
    public void Blob16(ReadOnlySpan<byte> value)
    {
        U16(checked((ushort)value.Length));
        Bytes(value);
    }

    public Span<byte> Take(int count)
    {
        Span<byte> slice = _buffer.Slice(Position, count);
        Position += count;
        return slice;
    }
}

/// <summary>
/// Sequential little-endian reader; throws <see cref="FormatException"/> on reading past the end,
/// which parsers turn into a format error naming the file.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _buffer;

    public SpanReader(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public ReadOnlySpan<byte> Blob16() => Take(U16());

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new FormatException($"truncated: needed {count} bytes at offset {Position}, {Remaining} left");
        }

        ReadOnlySpan<byte> slice = _buffer.Slice(Position, count);
        Position += count;
        return slice;
    }
}
