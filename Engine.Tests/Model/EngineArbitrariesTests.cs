using System.Text;
using Engine.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>The generators of Engine.Testing reach the edge cases they promise, and only valid input.</summary>
public sealed class EngineArbitrariesTests
{
    private const int Samples = 3000;

    private static T[] Sample<T>(Gen<T> gen, int size = 50) => gen.Sample(Samples, Rnd(), size);

    private static Rnd Rnd() => new(20261123UL, 0x9E3779B97F4A7C15UL);

    [Fact]
    public void Keys_cover_empty_shared_prefixes_ff_runs_and_prefixes_of_each_other()
    {
        byte[][] keys = Sample(EngineArbitraries.Keys());
        Assert.Contains(keys, k => k.Length == 0);
        Assert.Contains(keys, k => k.Length >= 3 && k.AsSpan().IndexOfAnyExcept((byte)0xFF) < 0);
        Assert.Contains(keys, k => k.Length >= 1000);
        Assert.Contains(keys, k => k.Length == 65536);
        Assert.All(keys, k => Assert.True(k.Length <= 65536, "a key over the default MaxKeyBytes"));
        var distinct = keys.Where(k => k.Length is > 0 and < 8).Distinct(ByteArrayComparer.Instance).ToArray();
        Assert.Contains(distinct, a => distinct.Any(b => b.Length > a.Length && b.AsSpan().StartsWith(a)));
        int sharingLongPrefix = keys.Count(k => k.Length >= 255 && keys.Any(o => !ReferenceEquals(o, k) && o.Length >= 255 && o.AsSpan(0, 255).SequenceEqual(k.AsSpan(0, 255)) && !o.AsSpan().SequenceEqual(k)));
        Assert.True(sharingLongPrefix > 10, $"only {sharingLongPrefix} keys share a 255-byte prefix with another key");
    }

    [Fact]
    public void Values_cover_empty_frame_edges_and_rare_values_over_one_mebibyte()
    {
        byte[][] values = Sample(EngineArbitraries.Values());
        Assert.Contains(values, v => v.Length == 0);
        Assert.Contains(values, v => v.Length is 4095 or 4096 or 4097);
        int large = values.Count(v => v.Length >= EngineArbitraries.LargeValueBytes);
        Assert.InRange(large, 1, Samples / 50);
        Assert.All(values, v => Assert.True(v.Length <= EngineArbitraries.LargeValueBytes + 8192));
    }

    [Fact]
    public void Namespace_names_are_valid_and_include_unicode_and_the_200_byte_limit()
    {
        string[] names = Sample(EngineArbitraries.NamespaceNames());
        Assert.All(names, n => Assert.True(EngineArbitraries.IsValidNamespaceName(n), $"invalid name {n}"));
        Assert.Contains(names, n => n.Any(char.IsSurrogate));
        Assert.Contains(names, n => n.Any(c => c > 0x7F && !char.IsSurrogate(c)));
        Assert.Contains(names, n => Encoding.UTF8.GetByteCount(n) == EncryptedStore.MaxNamespaceNameBytes);
        Assert.False(EngineArbitraries.IsValidNamespaceName(new string('x', EncryptedStore.MaxNamespaceNameBytes + 1)));
        Assert.False(EngineArbitraries.IsValidNamespaceName("a\u0001"));
        Assert.False(EngineArbitraries.IsValidNamespaceName("\ud800"));
    }

    [Fact]
    public void Write_batches_span_namespaces_and_repeat_keys()
    {
        WriteBatchSpec[] batches = Sample(EngineArbitraries.WriteBatches(["a", "b", "c"]));
        Assert.Contains(batches, b => b.Operations.Count == 0);
        Assert.Contains(batches, b => b.Namespaces.Count == 3);
        Assert.Contains(batches, b => b.Operations.Any(o => o.IsDelete));
        Assert.Contains(batches, b => b.Operations.GroupBy(o => (o.Namespace, Convert.ToHexString(o.Key))).Any(g => g.Count() > 1));
    }

    [Fact]
    public void A_batch_written_to_a_store_equals_the_batch_applied_to_a_model()
    {
        using var memory = InMemoryStore.Open();
        var model = new Dictionary<string, SortedDictionary<byte[], byte[]>>(StringComparer.Ordinal);
        Prop.ForAll(EngineArbitraries.WriteBatch(), batch =>
        {
            batch.WriteTo(memory.Store);
            batch.ApplyTo(model);
            return model.All(ns => memory.Store.GetNamespace(ns.Key).Scan((byte[]?)null, null)
                .Select(kv => (Convert.ToHexString(kv.Key), Convert.ToHexString(kv.Value)))
                .SequenceEqual(ns.Value.Select(kv => (Convert.ToHexString(kv.Key), Convert.ToHexString(kv.Value)))));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Shrinkers_and_patterns_are_deterministic_and_smaller()
    {
        Assert.Equal(EngineArbitraries.Pattern(5000, 7), EngineArbitraries.Pattern(5000, 7));
        byte[] big = EngineArbitraries.Pattern(1000, 1);
        Assert.All(EngineArbitraries.ShrinkBytes(big), s => Assert.True(s.Length < big.Length));
        Assert.Empty(EngineArbitraries.ShrinkBytes([]));
        Assert.Equal("\"k\\x00\\xff*5z\"", ByteDisplay.Format([(byte)'k', 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, (byte)'z']));
        Assert.StartsWith("[1 MiB+3 ", ByteDisplay.Format(new byte[(1 << 20) + 3]), StringComparison.Ordinal);
        Assert.True(ByteArrayComparer.Instance.Compare([0x01], [0x01, 0x00]) < 0);
        Assert.True(ByteArrayComparer.Instance.Compare([0xFF], [0x01, 0x00]) > 0);
    }
}
