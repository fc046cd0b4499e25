namespace Engine.Bench.Systems;

/// <summary>"plain": RocksDB with the engine's options and no encryption; every ratio is relative to it.</summary>
internal sealed class PlainRocksDb : IKvSystem
{
    public string Name => "plain";

    public long? MaxEntries => null;

    public IKvStore Open(string directory, long blockCacheBytes) => new RocksDbStore(directory, blockCacheBytes, IntPtr.Zero);

    public void Dispose()
    {
    }
}
