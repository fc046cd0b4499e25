using Engine.Crypto;

namespace Engine.Tests.Support;

/// <summary>A scratch directory holding a store and its local key file; deleted on dispose.</summary>
internal sealed class TestStoreDirectory : IDisposable
{
    public TestStoreDirectory()
    {
        Root = Directory.CreateTempSubdirectory("ekv-test-").FullName;
        StorePath = Path.Combine(Root, "store");
        KeyPath = Path.Combine(Root, "cmek.key");
        LocalKeyFileCmek.Create(KeyPath).Dispose();
    }

    public string Root { get; }

    public string StorePath { get; }

    public string KeyPath { get; }

    public string CmekUri => "file:" + KeyPath;

    public StoreOptions Options(Action<StoreOptions>? configure = null)
    {
        var options = new StoreOptions { Path = StorePath, CmekUri = CmekUri };
        configure?.Invoke(options);
        return options;
    }

    public EncryptedStore Open(Action<StoreOptions>? configure = null) => EncryptedStore.Open(Options(configure));

    /// <summary>Another valid key file, for wrong-key tests.</summary>
    public string CreateOtherKey(string name = "other.key")
    {
        string path = Path.Combine(Root, name);
        LocalKeyFileCmek.Create(path).Dispose();
        return path;
    }

    /// <summary>Every file under the store directory, recursively.</summary>
    public IEnumerable<string> StoreFiles() => Directory.EnumerateFiles(StorePath, "*", SearchOption.AllDirectories);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leaked temp dir must not fail a test.
        }
    }
}
