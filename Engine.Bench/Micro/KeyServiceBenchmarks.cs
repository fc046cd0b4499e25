using BenchmarkDotNet.Attributes;
using Engine.Crypto;

namespace Engine.Bench.Micro;

/// <summary>
/// Key hierarchy costs on the engine's real code (Engine.Crypto internals): a DEK wrap per new file
/// (FileKeyService.NewFileKey), a DEK unwrap per opened file (OpenFileKey), the KEK lookup both do
/// (the in-memory key cache), parsing a key envelope (the managed part of a file header), and one
/// CMEK unwrap with the local key file (what a store open pays; a KMS adds a network round trip).
/// </summary>
[MemoryDiagnoser]
public class KeyServiceBenchmarks : IDisposable
{
    private readonly byte[] _aad = new byte[64];
    private readonly byte[] _dek = new byte[FileKeyService.DekSize];
    private readonly byte[] _envelope = new byte[FileKeyService.MaxEnvelopeSize];
    private readonly byte[] _context = new byte[16];
    private string _dir = string.Empty;
    private string _path = string.Empty;
    private LocalKeyFileCmek? _cmek;
    private KeyRegistry? _registry;
    private FileKeyService? _keys;
    private KeyScope _scope;
    private byte[] _wrappedRoot = [];
    private int _envelopeLength;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ekv-micro-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _cmek = LocalKeyFileCmek.Create(Path.Combine(_dir, "cmek.key"));
        _registry = BlockingBridge.Wait(ct => KeyRegistry.CreateAsync(Path.Combine(_dir, "store"), _cmek, ct));
        NamespaceInfo ns = _registry.CreateNamespace("bench");
        _scope = KeyScope.ForNamespace(ns.Id);
        _path = Path.Combine(_dir, "store", "ns", ns.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "000001.sst");
        _keys = new FileKeyService(_registry, _ => _scope);
        _envelopeLength = _keys.NewFileKey(_path, _aad, _dek, _envelope);
        _wrappedRoot = _cmek.WrapKeyAsync(new byte[32], _context).GetAwaiter().GetResult();
    }

    [Benchmark(Description = "DEK wrap (new file key)")]
    public int WrapDek() => _keys!.NewFileKey(_path, _aad, _dek, _envelope.AsSpan(FileKeyService.EnvelopeSize));

    [Benchmark(Description = "DEK unwrap (open file key)")]
    public void UnwrapDek() => _keys!.OpenFileKey(_path, _aad, _envelope.AsSpan(0, _envelopeLength), _dek);

    [Benchmark(Description = "KEK lookup (key cache)")]
    public uint KekLookup() => _registry!.CurrentKekVersion(_scope);

    [Benchmark(Description = "key envelope parse")]
    public bool EnvelopeParse() => KeyEnvelope.TryReadFields(_envelope.AsSpan(0, _envelopeLength), out _, out _, out _);

    [Benchmark(Description = "CMEK unwrap (local key file)")]
    public int CmekUnwrap()
    {
        byte[] key = _cmek!.UnwrapKeyAsync(_wrappedRoot, _context).GetAwaiter().GetResult();
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        return key.Length;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _keys?.Dispose();
        _registry?.Dispose();
        _cmek?.Dispose();
        _keys = null;
        _registry = null;
        _cmek = null;
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
        GC.SuppressFinalize(this);
    }
}
