using System.Buffers.Binary;

namespace Engine.Bench.Workloads;

/// <summary>
/// Keys and values in the style of db_bench: a key is the big-endian number of the entry padded
/// with zeros to <see cref="KeySize"/> bytes (so sequential numbers sort sequentially), and values
/// are cut from a buffer that compresses to about half its size (db_bench's compression_ratio 0.5),
/// so compression behaves as on real data instead of on all-random or all-zero bytes. With
/// several namespaces, entry i lives in namespace i mod <see cref="Namespaces"/>: every namespace
/// gets the same share of every workload, and a key alone says where it lives.
/// </summary>
internal sealed class KeySpace
{
    public const int KeySize = 16;
    private const int ValueBufferBytes = 1 << 20;

    private readonly byte[] _values;

    public KeySpace(long num, int valueSize, int seed, int namespaces = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(num, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(valueSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(namespaces, 1);
        Num = num;
        ValueSize = valueSize;
        Namespaces = namespaces;
        _values = BuildValues(valueSize, seed);
    }

    public long Num { get; }

    /// <summary>Namespaces (column families) the entries are spread over.</summary>
    public int Namespaces { get; }

    /// <summary>Namespace of a key written by <see cref="WriteKey"/>: its entry number mod <paramref name="namespaces"/>.</summary>
    public static int NamespaceOf(ReadOnlySpan<byte> key, int namespaces) =>
        namespaces == 1 ? 0 : (int)(BinaryPrimitives.ReadUInt64BigEndian(key) % (ulong)namespaces);

    /// <summary>
    /// Entries a scan from entry <paramref name="index"/> to the end of its namespace sees: those
    /// numbered index, index + N, index + 2N, ... below <see cref="Num"/>.
    /// </summary>
    public long EntriesFrom(long index) => ((Num - 1 - index) / Namespaces) + 1;

    public int ValueSize { get; }

    /// <summary>Bytes of user data per entry (key plus value): the denominator of write amplification.</summary>
    public int EntryBytes => KeySize + ValueSize;

    public static void WriteKey(long index, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, (ulong)index);
        destination[8..KeySize].Clear();
    }

    public static byte[] Key(long index)
    {
        var key = new byte[KeySize];
        WriteKey(index, key);
        return key;
    }

    /// <summary>The value of the <paramref name="sequence"/>-th write: a window of the shared buffer.</summary>
    public ReadOnlySpan<byte> Value(long sequence)
    {
        int slots = (_values.Length / ValueSize) - 1;
        int offset = (int)(sequence % slots) * ValueSize;
        return _values.AsSpan(offset, ValueSize);
    }

    /// <summary>A random permutation of [0, count): every key written exactly once, in random order.</summary>
    public static long[] Permutation(long count, int seed)
    {
        var order = new long[count];
        for (long i = 0; i < count; i++)
        {
            order[i] = i;
        }
        var random = new Random(seed);
        for (long i = count - 1; i > 0; i--)
        {
            long j = random.NextInt64(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private static byte[] BuildValues(int valueSize, int seed)
    {
        int length = Math.Max(ValueBufferBytes, valueSize * 4);
        var buffer = new byte[length];
        var random = new Random(seed);
        // Each half-chunk of random bytes is followed by a copy of itself: ~50% compressible.
        int half = Math.Max(1, valueSize / 2);
        for (int offset = 0; offset < length; offset += 2 * half)
        {
            Span<byte> chunk = buffer.AsSpan(offset, Math.Min(half, length - offset));
            random.NextBytes(chunk);
            int copy = Math.Min(half, length - offset - chunk.Length);
            if (copy > 0)
            {
                chunk[..copy].CopyTo(buffer.AsSpan(offset + chunk.Length, copy));
            }
        }
        return buffer;
    }
}
