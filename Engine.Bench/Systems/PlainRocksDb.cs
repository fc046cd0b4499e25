namespace Engine.Bench.Systems;

/// <summary>"plain": RocksDB with the engine's options and no encryption; every ratio is relative to it.</summary>
/// <param name="namespaces">Column families the keys are spread over (one per engine namespace).</param>
internal sealed class PlainRocksDb(int namespaces) : IKvSystem
{
    public string Name => "plain";

    public long? MaxEntries => null;

    public IKvStore Open(string directory, long blockCacheBytes) => new RocksDbStore(directory, blockCacheBytes, IntPtr.Zero, namespaces);

    public void Dispose()
    {
    }
}
