using System.Globalization;

namespace Engine.Tests.Rotation;

/// <summary>
/// What a store must contain: every namespace's keys and values as written. Writes go to the store
/// and the model together; <see cref="Check"/> compares the whole store with the model (every
/// value read, and a full scan of every namespace so that nothing extra is there).
/// </summary>
internal sealed class ExpectedStoreContents
{
    private readonly Dictionary<string, SortedDictionary<string, string>> _data = new(StringComparer.Ordinal);
    private int _serial;

    public IReadOnlyCollection<string> Namespaces => _data.Keys;

    /// <summary>Puts <paramref name="count"/> keys (some overwriting earlier ones) and deletes a few.</summary>
    public void Write(EncryptedStore store, string ns, int count, int valueBytes = 200)
    {
        StoreNamespace target = store.GetNamespace(ns);
        SortedDictionary<string, string> model = Of(ns);
        for (int i = 0; i < count; i++)
        {
            int n = _serial++;
            string key = string.Create(CultureInfo.InvariantCulture, $"k{n * 7919 % 3001:D6}");
            if (n % 11 == 5 && model.Count > 0)
            {
                string victim = model.Keys.First();
                target.Delete(victim);
                model.Remove(victim);
                continue;
            }

            string value = string.Create(CultureInfo.InvariantCulture, $"{ns}/{n}/") + new string((char)('a' + (n % 26)), valueBytes);
            target.Put(key, value);
            model[key] = value;
        }
    }

    /// <summary>Forgets a namespace (after it was deleted from the store).</summary>
    public void Drop(string ns) => _data.Remove(ns);

    /// <summary>Asserts the store holds exactly the model (namespaces, keys, values).</summary>
    public void Check(EncryptedStore store)
    {
        Assert.Equal(_data.Keys.Order(StringComparer.Ordinal), store.ListNamespaces().Where(_data.ContainsKey));
        foreach ((string ns, SortedDictionary<string, string> model) in _data)
        {
            StoreNamespace target = store.GetNamespace(ns);
            var scanned = target.Scan((string?)null, null).ToList();
            Assert.Equal(model.Count, scanned.Count);
            Assert.Equal(model.Keys, scanned.Select(kv => kv.Key));
            foreach ((string key, string value) in scanned)
            {
                Assert.Equal(model[key], value);
            }

            foreach ((string key, string value) in model.Take(50))
            {
                Assert.Equal(value, target.Get(key));
            }
        }
    }

    private SortedDictionary<string, string> Of(string ns)
    {
        if (!_data.TryGetValue(ns, out SortedDictionary<string, string>? model))
        {
            model = new SortedDictionary<string, string>(StringComparer.Ordinal);
            _data[ns] = model;
        }

        return model;
    }
}
