using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Engine.Tests.Campaigns;

/// <summary>What one operation of the crash workload does.</summary>
public enum CrashOpKind
{
    /// <summary>One put, <c>sync=true</c>.</summary>
    Put,

    /// <summary>One delete, <c>sync=true</c>.</summary>
    Delete,

    /// <summary>A write batch across namespaces (puts and deletes), <c>sync=true</c>.</summary>
    Batch,

    /// <summary><see cref="EncryptedStore.Flush()"/>: no change to the logical state.</summary>
    Flush,

    /// <summary><see cref="EncryptedStore.Compact()"/>: no change to the logical state.</summary>
    Compact,
}

/// <summary>A put (<see cref="Value"/> set) or a delete (<see cref="Value"/> null) of one key.</summary>
public sealed record CrashEntry(int Ns, byte[] Key, byte[]? Value);

/// <summary>Operation number <see cref="Seq"/> of the workload.</summary>
public sealed record CrashOp(long Seq, CrashOpKind Kind, IReadOnlyList<CrashEntry> Entries)
{
    /// <summary>True for operations that change the logical state (and are acknowledged after a synced write).</summary>
    public bool IsWrite => Kind is CrashOpKind.Put or CrashOpKind.Delete or CrashOpKind.Batch;
}

/// <summary>
/// The deterministic workload of the crash campaign, shared by the child (which executes it) and the
/// parent (which rebuilds the state any prefix of it must leave). Operation <c>s</c> depends only on
/// the seed and <c>s</c>, so a new child can continue exactly where the recovered store stands.
/// </summary>
/// <remarks>
/// Values are self-describing and checksummed: <c>"EKVC" | ns (u8) | seq (i64) | payload length (i32) |
/// payload | SHA-256(ns | key | seq | payload)[0..8]</c>, so a torn or spliced value is recognisable as
/// garbled and a stale one by its sequence number, independently of the model.
/// </remarks>
public static class CrashWorkload
{
    /// <summary>The namespaces the workload writes to (created by the parent before the first child).</summary>
    public static readonly string[] Namespaces = ["crash-a", "crash-b", "crash-c"];

    /// <summary>Keys per namespace; every put overwrites one of them, so the store stays small.</summary>
    public const int KeysPerNamespace = 120;

    private const int ValueOverhead = 4 + 1 + 8 + 4 + 8;
    private static ReadOnlySpan<byte> Magic => "EKVC"u8;

    /// <summary>Key <paramref name="i"/> of every namespace.</summary>
    public static byte[] Key(int i) => System.Text.Encoding.ASCII.GetBytes($"k{i:D3}");

    /// <summary>Operation number <paramref name="seq"/> (from 1) of the workload seeded with <paramref name="seed"/>.</summary>
    public static CrashOp OpAt(int seed, long seq)
    {
        var rng = new Random(Mix(seed, seq));
        int roll = rng.Next(100);
        if (roll < 52)
        {
            return new CrashOp(seq, CrashOpKind.Put, [RandomPut(rng, seq)]);
        }
        if (roll < 62)
        {
            return new CrashOp(seq, CrashOpKind.Delete, [new CrashEntry(rng.Next(Namespaces.Length), Key(rng.Next(KeysPerNamespace)), null)]);
        }
        if (roll < 92)
        {
            // A batch spanning namespaces; later entries win over earlier ones on the same key, as in RocksDB.
            int n = rng.Next(2, 9);
            var entries = new List<CrashEntry>(n);
            for (int i = 0; i < n; i++)
            {
                entries.Add(rng.Next(5) == 0
                    ? new CrashEntry(i % Namespaces.Length, Key(rng.Next(KeysPerNamespace)), null)
                    : RandomPut(rng, seq, i % Namespaces.Length));
            }
            return new CrashOp(seq, CrashOpKind.Batch, entries);
        }
        return roll < 98 ? new CrashOp(seq, CrashOpKind.Flush, []) : new CrashOp(seq, CrashOpKind.Compact, []);
    }

    private static CrashEntry RandomPut(Random rng, long seq, int? ns = null)
    {
        int n = ns ?? rng.Next(Namespaces.Length);
        byte[] key = Key(rng.Next(KeysPerNamespace));
        int sizeClass = rng.Next(100);
        // Mostly small records (several per 4 KiB frame, so tail frames are rewritten in place after
        // every sync), some spanning one or two frames.
        int length = sizeClass < 70 ? rng.Next(8, 300) : sizeClass < 95 ? rng.Next(300, 3000) : rng.Next(3000, 9000);
        return new CrashEntry(n, key, MakeValue(n, key, seq, length));
    }

    /// <summary>The value written to <paramref name="key"/> of namespace <paramref name="ns"/> by operation <paramref name="seq"/>.</summary>
    public static byte[] MakeValue(int ns, byte[] key, long seq, int payloadLength)
    {
        byte[] value = new byte[ValueOverhead + payloadLength];
        Magic.CopyTo(value);
        value[4] = (byte)ns;
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(5), seq);
        BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(13), payloadLength);
        new Random(Mix(ns * 1_000_003 + Fnv(key), seq)).NextBytes(value.AsSpan(17, payloadLength));
        Checksum(ns, key, seq, value.AsSpan(17, payloadLength)).CopyTo(value.AsSpan(17 + payloadLength));
        return value;
    }

    /// <summary>
    /// Checks a value read from <paramref name="key"/> of namespace <paramref name="ns"/>: its framing and
    /// checksum. Returns the operation that wrote it, or null (with a reason) for a garbled value.
    /// </summary>
    public static long? ParseValue(int ns, byte[] key, ReadOnlySpan<byte> value, out string problem)
    {
        problem = string.Empty;
        if (value.Length < ValueOverhead || !value[..4].SequenceEqual(Magic))
        {
            problem = $"value of {value.Length} bytes without the workload's framing";
            return null;
        }
        long seq = BinaryPrimitives.ReadInt64LittleEndian(value[5..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(value[13..]);
        if (value[4] != ns || length != value.Length - ValueOverhead)
        {
            problem = $"value framing says namespace {value[4]}, {length} payload bytes; expected namespace {ns}, {value.Length - ValueOverhead} bytes";
            return null;
        }
        if (!value[(17 + length)..].SequenceEqual(Checksum(ns, key, seq, value.Slice(17, length))))
        {
            problem = $"checksum mismatch in a value claiming to be written by operation {seq}";
            return null;
        }
        return seq;
    }

    private static byte[] Checksum(int ns, byte[] key, long seq, ReadOnlySpan<byte> payload)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([(byte)ns]);
        sha.AppendData(key);
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(s, seq);
        sha.AppendData(s);
        sha.AppendData(payload);
        return sha.GetHashAndReset()[..8];
    }

    private static int Fnv(byte[] key)
    {
        uint h = 2166136261;
        foreach (byte b in key)
        {
            h = unchecked((h ^ b) * 16777619);
        }
        return (int)(h & 0xFFFFF);
    }

    /// <summary>SplitMix64 of (seed, seq), folded to a non-negative seed for <see cref="Random"/>.</summary>
    public static int Mix(int seed, long seq)
    {
        ulong z = unchecked(((ulong)(uint)seed << 32) ^ (ulong)seq) + 0x9E3779B97F4A7C15UL;
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
