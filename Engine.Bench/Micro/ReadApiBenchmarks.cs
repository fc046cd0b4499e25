using BenchmarkDotNet.Attributes;
using Engine.Crypto;

namespace Engine.Bench.Micro;

/// <summary>
/// Bytes allocated per read through the store's public API (the memory diagnoser's column is the
/// point): <c>Get</c> returns a new array per read, <c>TryGet</c> into a span and <c>Contains</c> use the
/// pinned read and allocate nothing, a cursor step allocates nothing, a scan step allocates its key
/// and value arrays. 10,000 keys of 16 bytes with 100-byte values, flushed to an SST and warm in the
/// block cache, so the numbers are the API's cost, not the disk's.
/// </summary>
[MemoryDiagnoser]
public class ReadApiBenchmarks : IDisposable
{
    private const int Keys = 10_000;
    private readonly byte[] _buffer = new byte[256];
    private string _dir = string.Empty;
    private EncryptedStore? _store;
    private StoreNamespace? _ns;
    private StoreCursor? _cursor;
    private IEnumerator<KeyValuePair<byte[], byte[]>>? _scan;
    private byte[][] _keys = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ekv-micro-read-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        string keyFile = Path.Combine(_dir, "cmek.key");
        LocalKeyFileCmek.Create(keyFile).Dispose();
        _store = EncryptedStore.Open(new StoreOptions { Path = Path.Combine(_dir, "store"), CmekUri = "file:" + keyFile });
        _ns = _store.GetNamespace("bench");
        _keys = [.. Enumerable.Range(0, Keys).Select(i => System.Text.Encoding.ASCII.GetBytes($"key-{i:D12}"))];
        byte[] value = new byte[100];
        foreach (byte[] key in _keys)
        {
            _ns.Put(key, value);
        }
        _store.Flush();
        _cursor = _ns.OpenCursor();
        _cursor.SeekToFirst();
        _scan = _ns.Scan().GetEnumerator();
    }

    private byte[] NextKey()
    {
        byte[] key = _keys[_next];
        _next = (_next + 1) % Keys;
        return key;
    }

    [Benchmark(Baseline = true, Description = "Get (byte[] per read)")]
    public int Get() => _ns!.Get(NextKey())!.Length;

    [Benchmark(Description = "TryGet into a span (pinned read)")]
    public int TryGetSpan() => _ns!.TryGet(NextKey(), _buffer, out int length) ? length : -1;

    [Benchmark(Description = "Contains (pinned read, no copy)")]
    public bool Contains() => _ns!.Contains(NextKey());

    [Benchmark(Description = "cursor Next + Key + Value")]
    public int CursorNext()
    {
        StoreCursor cursor = _cursor!;
        if (!cursor.Next())
        {
            cursor.SeekToFirst();
        }
        return cursor.Key.Length + cursor.Value.Length;
    }

    [Benchmark(Description = "Scan step (MoveNext, key/value arrays)")]
    public int ScanStep()
    {
        if (!_scan!.MoveNext())
        {
            _scan.Dispose();
            _scan = _ns!.Scan().GetEnumerator();
            _scan.MoveNext();
        }
        return _scan.Current.Value.Length;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _cursor?.Dispose();
        _scan?.Dispose();
        _store?.Dispose();
        _store = null;
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
        GC.SuppressFinalize(this);
    }
}
