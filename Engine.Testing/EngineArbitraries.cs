using FsCheck;
using FsCheck.Fluent;

namespace Engine.Testing;

/// <summary>
/// FsCheck generators (<see cref="Gen{T}"/>) and arbitraries (<see cref="Arbitrary{T}"/>, generator plus
/// shrinker) for keys, values, namespace names and write batches, weighted towards the cases that break
/// key-value stores: empty keys and values, keys that are prefixes of each other or share long binary
/// prefixes, runs of <c>0xFF</c> (the byte a naive "next key" computation overflows on), values on
/// frame boundaries and rare values over 1 MiB, and unicode namespace names up to the 200-byte limit.
/// </summary>
/// <example>
/// <code>
/// Prop.ForAll(EngineArbitraries.Key(), EngineArbitraries.Value(), (key, value) =>
/// {
///     ns.Put(key, value);
///     return ns.Get(key).AsSpan().SequenceEqual(value);
/// }).QuickCheckThrowOnFailure();
/// </code>
/// </example>
public static class EngineArbitraries
{
    /// <summary>Smallest "large" value: values of at least 1 MiB are generated rarely (about 1 in 170 values).</summary>
    public const int LargeValueBytes = 1 << 20;

    /// <summary>A fixed pseudo-random binary prefix; keys built on it share prefixes of 16 to 1000 bytes.</summary>
    private static readonly byte[] s_sharedPrefix = [.. Enumerable.Range(0, 1000).Select(i => (byte)((i * 167) + 13))];

    private static readonly byte[] s_edgeBytes = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF];

    private static readonly int[] s_frameEdges = [511, 512, 513, 4095, 4096, 4097, 16383, 16384, 16385, 65536];

    private static readonly string[] s_namePieces =
    [
        "tenant", "a", "audit", "ns.0", " ", "é", "日本語", "😀", "e\u0301", "עברית", "Ωmega", "ß", "\u00A0",
        "\u200B", "中", "ﬁ", "🏳️‍🌈", "Ä", "ü", "한국어", "…", "/", "\\", "..", "%", "*",
    ];

    /// <summary>
    /// Keys: empty; short keys over {a, b} (so many are prefixes of each other); runs of 0xFF with and
    /// without a prefix or a trailing 0x00; 0x00 runs; 16 to 1000-byte slices of one binary prefix with a
    /// short edge-byte suffix; random binary keys; rarely a 4 to 64 KiB key.
    /// </summary>
    /// <returns>The generator.</returns>
    public static Gen<byte[]> Keys() => Gen.Frequency(
        (2, Gen.Constant(Array.Empty<byte>())),
        (6, Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Elements((byte)'a', (byte)'b'), n))),
        (3, FfRunKeys()),
        (1, Gen.Choose(1, 4).Select(n => new byte[n])),
        (3, SharedPrefixKeys()),
        (2, Gen.Choose(1, 32).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n))),
        (1, Gen.Elements(4096, 65536).SelectMany(n => Gen.Choose(0, int.MaxValue).Select(seed => Pattern(n, seed)))));

    /// <summary>
    /// Values: empty; small random values; sizes on the edges of encryption frames (511 to 65536
    /// bytes); 1 to 64 KiB; constant fills; and, about 1 in 170, a value of 1 MiB to 1 MiB + 8 KiB
    /// (see <see cref="LargeValues"/>). Contents are pseudo-random from a generated seed, so large values
    /// cost little to generate and replay identically.
    /// </summary>
    /// <returns>The generator.</returns>
    public static Gen<byte[]> Values() => Gen.Frequency(
        (30, Gen.Constant(Array.Empty<byte>())),
        (100, Gen.Choose(1, 64).SelectMany(n => Gen.Choose(0, int.MaxValue).Select(seed => Pattern(n, seed)))),
        (20, Gen.Elements(s_frameEdges).SelectMany(n => Gen.Choose(0, int.MaxValue).Select(seed => Pattern(n, seed)))),
        (10, Gen.Choose(1024, 64 * 1024).SelectMany(n => Gen.Choose(0, int.MaxValue).Select(seed => Pattern(n, seed)))),
        (10, Gen.Choose(1, 300).SelectMany(n => Gen.Elements((byte)0x00, (byte)0xFF).Select(b => Fill(n, b)))),
        (1, LargeValues()));

    /// <summary>Values of 1 MiB to 1 MiB + 8 KiB (several frames, more than one RocksDB block).</summary>
    /// <returns>The generator.</returns>
    public static Gen<byte[]> LargeValues() =>
        Gen.Choose(0, 8192).SelectMany(extra => Gen.Choose(0, int.MaxValue).Select(seed => Pattern(LargeValueBytes + extra, seed)));

    /// <summary>
    /// Namespace names accepted by <see cref="EncryptedStore.GetNamespace"/>: ASCII names, names built
    /// from unicode pieces (accents, combining marks, CJK, right-to-left script, emoji with surrogate
    /// pairs and joiners, no-break and zero-width spaces, path-like characters), and names of exactly
    /// <see cref="EncryptedStore.MaxNamespaceNameBytes"/> UTF-8 bytes in 1, 3 and 4-byte characters.
    /// </summary>
    /// <returns>The generator.</returns>
    public static Gen<string> NamespaceNames() => Gen.Frequency(
        (4, Gen.Choose(0, 999).Select(i => "tenant-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (5, Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Gen.Elements(s_namePieces), n)).Select(p => string.Concat(p))),
        (1, Gen.Elements(
            new string('x', EncryptedStore.MaxNamespaceNameBytes),
            string.Concat(Enumerable.Repeat("日", 66)) + "ab",
            string.Concat(Enumerable.Repeat("😀", EncryptedStore.MaxNamespaceNameBytes / 4)))))
        .Where(IsValidNamespaceName);

    /// <summary>One put (3 in 4) or delete of a generated key in one of <paramref name="namespaces"/>.</summary>
    /// <param name="namespaces">Names to choose from; not empty.</param>
    /// <returns>The generator.</returns>
    public static Gen<BatchOperation> BatchOperations(IReadOnlyList<string> namespaces)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        ArgumentOutOfRangeException.ThrowIfZero(namespaces.Count);
        return Gen.Elements(namespaces.ToArray()).SelectMany(ns => Keys().SelectMany(key => Gen.Frequency(
            (3, Values().Select(v => new BatchOperation(ns, key, v))),
            (1, Gen.Constant(new BatchOperation(ns, key, null))))));
    }

    /// <summary>
    /// Write batches over <paramref name="namespaces"/>: empty batches, and batches of up to 12
    /// operations that often touch one key twice (put then delete, put then put) so the order inside a
    /// batch matters.
    /// </summary>
    /// <param name="namespaces">Names to choose from; not empty.</param>
    /// <returns>The generator.</returns>
    public static Gen<WriteBatchSpec> WriteBatches(IReadOnlyList<string> namespaces) =>
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(BatchOperations(namespaces), n))
            .SelectMany(ops => Gen.Choose(0, 2).SelectMany(repeats => Gen.ArrayOf(RepeatOf(ops), repeats))
                .Select(extra => new WriteBatchSpec([.. ops, .. extra.Where(e => e is not null).Select(e => e!)])));

    /// <summary>Write batches across 1 to 3 generated namespace names (see <see cref="WriteBatches(IReadOnlyList{string})"/>).</summary>
    /// <returns>The generator.</returns>
    public static Gen<WriteBatchSpec> WriteBatches() =>
        Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(NamespaceNames(), n)).SelectMany(names => WriteBatches(names));

    /// <summary><see cref="Keys"/> with <see cref="ShrinkBytes"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<byte[]> Key() => Arb.From(Keys(), ShrinkBytes);

    /// <summary><see cref="Values"/> with <see cref="ShrinkBytes"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<byte[]> Value() => Arb.From(Values(), ShrinkBytes);

    /// <summary><see cref="NamespaceNames"/>, shrinking towards <c>"a"</c> and shorter valid names.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<string> NamespaceName() => Arb.From(NamespaceNames(), ShrinkName);

    /// <summary><see cref="WriteBatches()"/>, shrinking by dropping operations and shrinking keys and values.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<WriteBatchSpec> WriteBatch() => Arb.From(WriteBatches(), ShrinkBatch);

    /// <summary>Shrinks a byte array: to empty, to its first half, without its last byte.</summary>
    /// <param name="bytes">The array to shrink.</param>
    /// <returns>Smaller candidates, smallest first.</returns>
    public static IEnumerable<byte[]> ShrinkBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            yield break;
        }
        yield return [];
        if (bytes.Length > 2)
        {
            yield return bytes[..(bytes.Length / 2)];
        }
        if (bytes.Length > 1)
        {
            yield return bytes[..^1];
        }
    }

    /// <summary>True when <see cref="EncryptedStore.GetNamespace"/> accepts <paramref name="name"/>.</summary>
    /// <param name="name">A candidate name.</param>
    /// <returns>Whether it is a valid namespace name.</returns>
    public static bool IsValidNamespaceName(string name)
    {
        try
        {
            EncryptedStore.ValidateNamespaceName(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Deterministic pseudo-random bytes: the same (length, seed) always gives the same array.</summary>
    /// <param name="length">Length in bytes.</param>
    /// <param name="seed">Seed of the content.</param>
    /// <returns>The bytes.</returns>
    public static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
#pragma warning disable CA5394 // test data, not security
        new Random(seed).NextBytes(bytes);
#pragma warning restore CA5394
        return bytes;
    }

    private static byte[] Fill(int length, byte value)
    {
        byte[] bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    private static Gen<byte[]> FfRunKeys() =>
        Gen.Elements(Array.Empty<byte>(), "a"u8.ToArray(), "k\0"u8.ToArray(), [0xFE])
            .SelectMany(prefix => Gen.Choose(1, 9).SelectMany(run => Gen.Elements(Array.Empty<byte>(), [0x00], [0xFF, 0x00], "z"u8.ToArray())
                .Select(suffix => (byte[])[.. prefix, .. Fill(run, 0xFF), .. suffix])));

    private static Gen<byte[]> SharedPrefixKeys() =>
        Gen.Elements(16, 255, 256, 1000)
            .SelectMany(length => Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Elements(s_edgeBytes), n))
                .Select(suffix => (byte[])[.. s_sharedPrefix.AsSpan(0, length), .. suffix]));

    private static Gen<BatchOperation?> RepeatOf(BatchOperation[] ops) =>
        ops.Length == 0
            ? Gen.Constant<BatchOperation?>(null)
            : Gen.Elements(ops).SelectMany(op => Gen.Frequency(
                (1, Gen.Constant<BatchOperation?>(new BatchOperation(op.Namespace, op.Key, null))),
                (1, Values().Select(v => (BatchOperation?)new BatchOperation(op.Namespace, op.Key, v)))));

    private static IEnumerable<string> ShrinkName(string name)
    {
        if (name != "a")
        {
            yield return "a";
        }
        if (name.Length > 1)
        {
            string half = name[..(name.Length / 2)];
            if (IsValidNamespaceName(half))
            {
                yield return half;
            }
        }
    }

    private static IEnumerable<WriteBatchSpec> ShrinkBatch(WriteBatchSpec batch)
    {
        IReadOnlyList<BatchOperation> ops = batch.Operations;
        for (int i = 0; i < ops.Count; i++)
        {
            yield return new WriteBatchSpec([.. ops.Take(i), .. ops.Skip(i + 1)]);
        }
        for (int i = 0; i < ops.Count; i++)
        {
            BatchOperation op = ops[i];
            foreach (byte[] key in ShrinkBytes(op.Key))
            {
                yield return Replace(ops, i, new BatchOperation(op.Namespace, key, op.Value));
            }
            if (op.Value is not null)
            {
                foreach (byte[] value in ShrinkBytes(op.Value))
                {
                    yield return Replace(ops, i, new BatchOperation(op.Namespace, op.Key, value));
                }
            }
        }
    }

    private static WriteBatchSpec Replace(IReadOnlyList<BatchOperation> ops, int index, BatchOperation replacement) =>
        new([.. ops.Take(index), replacement, .. ops.Skip(index + 1)]);
}
