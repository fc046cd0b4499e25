using BenchmarkDotNet.Attributes;
using Engine.Crypto;

namespace Engine.Bench.Micro;

/// <summary>
/// The store's point operations end to end on the hot path (memtable and block cache: no file I/O per
/// call): what every Put/Get pays for the gate, RocksDB and the per-namespace telemetry counters.
/// </summary>
[MemoryDiagnoser]
public class StorePointBenchmarks : IDisposable
{
    private readonly byte[] _key = "bench-key-000042"u8.ToArray();
    private readonly byte[] _value = new byte[100];
    private string _dir = string.Empty;
    private EncryptedStore? _store;
    private StoreNamespace? _ns;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("ekv-bench-point-").FullName;
        string keyFile = Path.Combine(_dir, "cmek.key");
        LocalKeyFileCmek.Create(keyFile).Dispose();
        _store = EncryptedStore.Open(new StoreOptions { Path = Path.Combine(_dir, "store"), CmekUri = "file:" + keyFile });
        _ns = _store.GetNamespace("bench");
        _ns.Put(_key, _value);
    }

    [Benchmark]
    public void Put() => _ns!.Put(_key, _value);

    [Benchmark]
    public byte[]? Get() => _ns!.Get(_key);

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        _store = null;
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
        GC.SuppressFinalize(this);
    }
}
