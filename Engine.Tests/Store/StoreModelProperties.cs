using Engine.Tests.Support;
using FsCheck;
using FsCheck.Fluent;

namespace Engine.Tests.Store;

/// <summary>
/// Random put/delete/flush/reopen sequences across namespaces must leave the store equal to a
/// plain <see cref="SortedDictionary{TKey, TValue}"/> model, including after reopening.
/// </summary>
public sealed class StoreModelProperties
{
    private static readonly string[] s_namespaces = ["n0", "n1", "n2"];

    internal abstract record Op;
    internal sealed record PutOp(int Ns, byte[] Key, byte[] Value) : Op;
    internal sealed record DeleteOp(int Ns, byte[] Key) : Op;
    internal sealed record FlushOp : Op;
    internal sealed record ReopenOp : Op;

    private static Gen<byte[]> KeyGen() =>
        Gen.Frequency(
            (3, Gen.Choose(0, 15).Select(i => new[] { (byte)'k', (byte)i })),
            (1, Gen.Constant(Array.Empty<byte>())),
            (1, Gen.Choose(1, 4).Select(n => Enumerable.Repeat((byte)0xFF, n).ToArray())),
            (1, Gen.Choose(0, 15).Select(i => new[] { (byte)'k', (byte)i, (byte)0 })));

    private static Gen<Op> OpGen() =>
        Gen.Frequency(
            (10, Gen.Choose(0, 2).SelectMany(ns => KeyGen().SelectMany(k => Gen.Choose(0, 300).Select(len =>
                (Op)new PutOp(ns, k, Enumerable.Range(0, len).Select(i => (byte)(i * 31 + len)).ToArray()))))),
            (4, Gen.Choose(0, 2).SelectMany(ns => KeyGen().Select(k => (Op)new DeleteOp(ns, k)))),
            (1, Gen.Constant((Op)new FlushOp())),
            (1, Gen.Constant((Op)new ReopenOp())));

    private static readonly IComparer<byte[]> s_bytewise = Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b));

    [Fact]
    public void Store_matches_sorted_dictionary_model_including_after_reopen()
    {
        int runs = int.TryParse(Environment.GetEnvironmentVariable("ENGINE_PBT_RUNS"), out int n) && n > 0 ? n : 15;
        Arbitrary<Op[]> arb = Arb.From(Gen.ArrayOf(OpGen()).Select(ops => ops.Append(new ReopenOp()).ToArray()));
        Property property = Prop.ForAll(arb, ops => RunAgainstModel(ops));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(runs).WithEndSize(60), property);
    }

    private static bool RunAgainstModel(Op[] ops)
    {
        using var dir = new TestStoreDirectory();
        var model = s_namespaces.Select(_ => new SortedDictionary<byte[], byte[]>(s_bytewise)).ToArray();
        EncryptedStore store = dir.Open();
        try
        {
            foreach (Op op in ops)
            {
                switch (op)
                {
                    case PutOp put:
                        store.GetNamespace(s_namespaces[put.Ns]).Put(put.Key, put.Value);
                        model[put.Ns][put.Key] = put.Value;
                        break;
                    case DeleteOp del:
                        store.GetNamespace(s_namespaces[del.Ns]).Delete(del.Key);
                        model[del.Ns].Remove(del.Key);
                        break;
                    case FlushOp:
                        store.Flush();
                        break;
                    case ReopenOp:
                        store.Dispose();
                        store = dir.Open();
                        AssertMatches(store, model);
                        break;
                }
            }
            AssertMatches(store, model);
            return true;
        }
        finally
        {
            store.Dispose();
        }
    }

    private static void AssertMatches(EncryptedStore store, SortedDictionary<byte[], byte[]>[] model)
    {
        for (int i = 0; i < s_namespaces.Length; i++)
        {
            StoreNamespace ns = store.GetNamespace(s_namespaces[i]);
            var actual = ns.Scan((byte[]?)null, null).ToList();
            Assert.Equal(model[i].Count, actual.Count);
            foreach (((byte[] mk, byte[] mv), KeyValuePair<byte[], byte[]> a) in model[i].Zip(actual))
            {
                Assert.Equal(mk, a.Key);
                Assert.Equal(mv, a.Value);
                Assert.Equal(mv, ns.Get(mk));
            }
        }
    }
}
