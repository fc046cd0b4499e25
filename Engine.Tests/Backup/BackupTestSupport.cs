using Engine.Crypto;
using Engine.Tests.Support;

namespace Engine.Tests.Backup;

/// <summary>A store directory plus a backup directory and restore targets next to it.</summary>
internal sealed class BackupFixture : IDisposable
{
    public TestStoreDirectory Dir { get; } = new();

    public string BackupDir => Path.Combine(Dir.Root, "backups");

    public string Target(string name = "restored") => Path.Combine(Dir.Root, name);

    public LocalKeyFileCmek Cmek() => LocalKeyFileCmek.Open(Dir.KeyPath);

    public EncryptedStore OpenRestored(string target, Action<StoreOptions>? configure = null)
    {
        var options = new StoreOptions { Path = target, CmekUri = Dir.CmekUri, CreateIfMissing = false };
        configure?.Invoke(options);
        return EncryptedStore.Open(options);
    }

    /// <summary>Every (namespace, key, value) of a store, sorted.</summary>
    public static SortedDictionary<string, string> Contents(EncryptedStore store)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in store.ListNamespaces())
        {
            foreach ((string key, string value) in store.GetNamespace(name).Scan().Select(kv => (System.Text.Encoding.UTF8.GetString(kv.Key), System.Text.Encoding.UTF8.GetString(kv.Value))))
            {
                result[name + "/" + key] = value;
            }
        }
        return result;
    }

    public void Dispose() => Dir.Dispose();
}
