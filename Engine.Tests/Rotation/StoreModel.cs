using System.Globalization;
using Engine.Crypto;
using Engine.Files;

namespace Engine.Tests.Rotation;

/// <summary>
/// What a store must contain: every namespace's keys and values as written. Writes go to the store
/// and the model together; <see cref="Check"/> compares the whole store with the model (every
/// value read, and a full scan of every namespace so that nothing extra is there).
/// </summary>
internal sealed class StoreModel
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

/// <summary>Assertions over a store's key status and its files' headers.</summary>
internal static class KeyAssert
{
    /// <summary>Every live file of every scope is under the current version, which is the only one held;
    /// shares add up; both header slots of every file name the current version.</summary>
    public static void AllCurrent(EncryptedStore store, bool bothSlots = true)
    {
        KeyStatusReport status = store.KeyStatus();
        foreach (ScopeKeyStatus scope in status.Scopes)
        {
            Assert.False(scope.RotationInProgress, $"{scope.Name}: rotation still in progress");
            Assert.Equal([scope.CurrentVersion], scope.RegistryVersions);
            Assert.All(scope.Versions.Where(v => v.Files > 0), v => Assert.Equal(scope.CurrentVersion, v.Version));
            Assert.Equal(0, scope.UnreadableFiles);
            SharesAddUp(scope);
            if (bothSlots)
            {
                foreach (string file in ScopeFiles(store, scope))
                {
                    (FileHeaderInfo? active, FileHeaderInfo? other) = HeaderSlots.ReadBoth(file);
                    if (active is null)
                    {
                        continue; // deleted meanwhile, or 0 bytes
                    }

                    Assert.True(scope.CurrentVersion == active.Value.KekVersion,
                        $"{file}: the active header slot names {scope.Name} KEK version {active.Value.KekVersion}, the current one is {scope.CurrentVersion} ({new FileInfo(file).Length} bytes)");
                    if (other is FileHeaderInfo o)
                    {
                        Assert.True(scope.CurrentVersion == o.KekVersion,
                            $"{file}: the other header slot names {scope.Name} KEK version {o.KekVersion}, the current one is {scope.CurrentVersion}");
                    }
                }
            }
        }
    }

    public static void SharesAddUp(ScopeKeyStatus scope)
    {
        if (scope.Files == 0)
        {
            return;
        }

        Assert.Equal(1.0, scope.Versions.Sum(v => v.FileShare), 9);
        Assert.Equal(1.0, scope.Versions.Sum(v => v.ByteShare), 9);
        Assert.Equal(scope.Files, scope.Versions.Sum(v => v.Files));
    }

    public static IReadOnlyList<string> ScopeFiles(EncryptedStore store, ScopeKeyStatus scope) => store.Run(s =>
    {
        using StoreFiles files = StoreFiles.Open(s);
        return files.ScopeFiles(store.Layout, scope.NamespaceId is uint id ? KeyScope.ForNamespace(id) : KeyScope.System);
    });
}
