using System.Buffers.Binary;

namespace Engine.Import;

/// <summary>One encrypted temp file of a spilled run: its path and logical length as written.</summary>
internal sealed record RunChunk(string Path, long Length);

/// <summary>
/// A sorted run spilled to encrypted temp files. The native C ABI writes a file only as a whole
/// (<c>ekv_file_write</c>), so a run is one logical stream cut into bounded chunk files.
/// </summary>
/// <remarks>
/// Chunk layout (all of it inside the plugin's encryption, so authenticated by its frames): a 32-byte
/// header — magic <c>EKVRUN1\0</c>, import id (16), run id (u32 LE), chunk index (u32 LE) — then whole
/// blocks, each <c>u32 raw length (bit 31 set: stored uncompressed), u32 stored length, stored bytes</c>
/// holding at most <see cref="BlockSize"/> bytes of the run's entry stream. The entry stream is
/// <c>varint key length, varint value length, key, value</c> per entry in strictly increasing key order;
/// an entry may continue in the next block or chunk. The header binds a chunk to its place, so chunks
/// swapped or copied between runs are detected; lengths and the entry count kept in memory detect a
/// chunk cut short.
/// </remarks>
internal sealed class SpilledRun(int id, IReadOnlyList<RunChunk> chunks, long entries)
{
    public const int HeaderSize = 32;
    public const int BlockHeaderSize = 8;
    public const int BlockSize = 16 << 10;
    public const uint StoredFlag = 0x8000_0000;
    private static ReadOnlySpan<byte> Magic => "EKVRUN1\0"u8;

    public int Id { get; } = id;

    public IReadOnlyList<RunChunk> Chunks { get; } = chunks;

    public long Entries { get; } = entries;

    public static void WriteHeader(Span<byte> destination, Guid importId, int runId, int chunkIndex)
    {
        Magic.CopyTo(destination);
        importId.TryWriteBytes(destination.Slice(8, 16));
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(24, 4), runId);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(28, 4), chunkIndex);
    }

    public static bool HeaderMatches(ReadOnlySpan<byte> header, Guid importId, int runId, int chunkIndex)
    {
        Span<byte> expected = stackalloc byte[HeaderSize];
        WriteHeader(expected, importId, runId, chunkIndex);
        return header.Length >= HeaderSize && header[..HeaderSize].SequenceEqual(expected);
    }

    public static int WriteVarint(Span<byte> destination, uint value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a varint; returns its size, 0 when <paramref name="source"/> ends inside it, -1 when malformed.</summary>
    public static int ReadVarint(ReadOnlySpan<byte> source, out uint value)
    {
        value = 0;
        for (int i = 0, shift = 0; i < 5; i++, shift += 7)
        {
            if (i >= source.Length)
            {
                return 0;
            }
            byte b = source[i];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return i == 4 && b > 0x0F ? -1 : i + 1;
            }
        }
        return -1;
    }
}
