using Engine.Crypto;
using Engine.Interop;

namespace Engine.Bench.Systems;

/// <summary>
/// "engine-env" (diagnostic, not in the default set): RocksDbSharp driven exactly like "plain", but
/// on the engine's native encrypted file system (its env, key registry and file key service), without
/// the EncryptedStore API on top. engine-env ÷ plain is the cost of the file layer (frames, crypto,
/// DEKs); engine ÷ engine-env is the cost of the managed API (gate, closures, cursors).
/// </summary>
internal sealed class EngineEnvRaw : IKvSystem
{
    private readonly LocalKeyFileCmek _cmek;

    public EngineEnvRaw(string keyFile, int frameSize)
    {
        _cmek = LocalKeyFileCmek.Create(keyFile);
        FrameSize = frameSize;
    }

    public string Name => "engine-env";

    public long? MaxEntries => null;

    public int FrameSize { get; }

    public IKvStore Open(string directory, long blockCacheBytes)
    {
        var layout = new StoreLayout(directory);
        KeyRegistry registry = BlockingBridge.Wait(ct => KeyRegistry.Exists(layout.Root) ? KeyRegistry.OpenAsync(layout.Root, _cmek, ct) : KeyRegistry.CreateAsync(layout.Root, _cmek, ct));
        FileKeyService? keys = null;
        EncryptedEnvHandle? env = null;
        try
        {
            NamespaceInfo ns = registry.TryGetNamespace(EngineSystem.NamespaceName, out NamespaceInfo? found) ? found : registry.CreateNamespace(EngineSystem.NamespaceName);
            // RocksDbSetup puts the column family in ns/1, which must be this namespace's directory.
            if (layout.NamespaceDirectory(ns.Id) != Path.Combine(layout.Root, "ns", "1"))
            {
                throw new InvalidOperationException($"engine-env expects namespace id 1, got {ns.Id}");
            }
            keys = new FileKeyService(registry, layout.ScopeOf);
            env = EncryptedEnvHandle.Create(keys, (uint)FrameSize, inMemory: false);
            FileKeyService k = keys;
            EncryptedEnvHandle e = env;
            return new RocksDbStore(layout.Root, blockCacheBytes, env.RocksDbEnv, namespaces: 1, () =>
            {
                e.Dispose();
                k.Dispose();
                registry.Dispose();
            });
        }
        catch
        {
            env?.Dispose();
            keys?.Dispose();
            registry.Dispose();
            throw;
        }
    }

    public void Dispose() => _cmek.Dispose();
}
