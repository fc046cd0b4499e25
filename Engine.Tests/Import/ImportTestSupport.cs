using Engine.Tests.Support;

namespace Engine.Tests.Import;

/// <summary>Calls the handler synchronously (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}

/// <summary>Orders byte arrays the way the store does: bytewise, shorter prefix first.</summary>
internal sealed class BytewiseComparer : IComparer<byte[]>
{
    public static readonly BytewiseComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

internal static class ImportTestSupport
{
    public static string TempDirectory(this TestStoreDirectory dir) => Path.Combine(dir.StorePath, "tmp");

    public static string[] TempFiles(this TestStoreDirectory dir) =>
        Directory.Exists(dir.TempDirectory()) ? Directory.GetFiles(dir.TempDirectory(), "*", SearchOption.AllDirectories) : [];

    /// <summary>Import staging directories (<c>ns/&lt;id&gt;/import-*</c>).</summary>
    public static string[] StagingDirectories(this TestStoreDirectory dir)
    {
        string ns = Path.Combine(dir.StorePath, "ns");
        return Directory.Exists(ns)
            ? [.. Directory.EnumerateDirectories(ns).SelectMany(d => Directory.EnumerateDirectories(d, "import-*"))]
            : [];
    }

    /// <summary>Deterministic unsorted input with duplicates, empty keys and empty values, and its model.</summary>
    public static (List<KeyValuePair<byte[], byte[]>> Input, SortedDictionary<byte[], byte[]> Model) RandomInput(int count, int keySpace, int seed)
    {
        var random = new Random(seed);
        var input = new List<KeyValuePair<byte[], byte[]>>(count);
        var model = new SortedDictionary<byte[], byte[]>(BytewiseComparer.Instance);
        for (int i = 0; i < count; i++)
        {
            int id = random.Next(keySpace);
            // Key 0 is the empty key; "k1", "k12", "k123" ... are prefixes of each other.
            byte[] key = id == 0 ? [] : System.Text.Encoding.ASCII.GetBytes("k" + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            byte[] value = new byte[random.Next(5) == 0 ? 0 : random.Next(1, 40)];
            random.NextBytes(value);
            input.Add(new(key, value));
            model[key] = value;
        }
        return (input, model);
    }

    public static void AssertMatches(SortedDictionary<byte[], byte[]> model, StoreNamespace ns)
    {
        using IEnumerator<KeyValuePair<byte[], byte[]>> actual = ns.Scan().GetEnumerator();
        long n = 0;
        foreach (KeyValuePair<byte[], byte[]> expected in model)
        {
            Assert.True(actual.MoveNext(), $"the store ends after {n} keys, the model has {model.Count}");
            Assert.True(expected.Key.AsSpan().SequenceEqual(actual.Current.Key), $"key #{n}: expected {Convert.ToHexString(expected.Key)}, got {Convert.ToHexString(actual.Current.Key)}");
            Assert.True(expected.Value.AsSpan().SequenceEqual(actual.Current.Value), $"value of key {Convert.ToHexString(expected.Key)} differs");
            n++;
        }
        Assert.False(actual.MoveNext(), $"the store has more keys than the model's {model.Count}");
    }
}
