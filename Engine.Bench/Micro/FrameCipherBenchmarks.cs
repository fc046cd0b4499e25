using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace Engine.Bench.Micro;

/// <summary>
/// Sealing and opening one frame with AES-256-GCM: .NET's AesGcm (one instance reused, as a frame
/// cipher would hold it per file), OpenSSL EVP on one reused context (libbenchctr's reference, the
/// same library calls the plugin makes; 32 bytes of associated data), and the plugin's own
/// FrameCipher through <c>ekv_bench_seal</c>/<c>ekv_bench_open</c>: the object the file system seals
/// frames with, including the frame header, the 37-byte frame AAD and the nonce draw. The plugin entry
/// points key a cipher per call, so each invocation runs 64 frames and reports the time per frame.
/// </summary>
[MemoryDiagnoser]
public partial class FrameCipherBenchmarks : IDisposable
{
    private const int TagSize = 16;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _aad = new byte[32];
    private readonly byte[] _tag = new byte[TagSize];
    private readonly byte[] _sealedTag = new byte[TagSize];
    private AesGcm? _aes;
    private IntPtr _openssl;
    private byte[] _plain = [];
    private byte[] _sealed = [];
    private byte[] _output = [];
    private byte[] _pluginKey = [];
    private byte[] _pluginFrame = [];
    private byte[] _pluginOutput = [];
    private const int PluginFramesPerCall = 64;

    [Params(4096, 16384, 65536)]
    public int FrameBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        RandomNumberGenerator.Fill(_nonce);
        RandomNumberGenerator.Fill(_aad);
        _plain = RandomNumberGenerator.GetBytes(FrameBytes);
        _sealed = new byte[FrameBytes];
        _output = new byte[FrameBytes];
        _aes = new AesGcm(key, TagSize);
        _aes.Encrypt(_nonce, _plain, _sealed, _sealedTag, _aad);
        _openssl = GcmNew(key);
        _pluginKey = (byte[])key.Clone();
        _pluginFrame = new byte[FrameBytes + 40];
        _pluginOutput = new byte[FrameBytes + 40];
        unsafe
        {
            fixed (byte* k = _pluginKey, input = _plain, frame = _pluginFrame)
            {
                if (BenchSeal(k, input, (nuint)_plain.Length, frame, 1) != 0)
                {
                    throw new InvalidOperationException("ekv_bench_seal failed");
                }
            }
        }
        CryptographicOperations.ZeroMemory(key);
        if (_openssl == IntPtr.Zero)
        {
            throw new InvalidOperationException("libbenchctr: cannot create an OpenSSL GCM context");
        }
    }

    [Benchmark(Description = "seal, .NET AesGcm")]
    public void ManagedSeal() => _aes!.Encrypt(_nonce, _plain, _output, _tag, _aad);

    [Benchmark(Description = "open, .NET AesGcm")]
    public void ManagedOpen() => _aes!.Decrypt(_nonce, _sealed, _sealedTag, _output, _aad);

    [Benchmark(Description = "seal, OpenSSL EVP (reference)")]
    public unsafe int NativeSeal()
    {
        fixed (byte* nonce = _nonce, aad = _aad, input = _plain, output = _output, tag = _tag)
        {
            return GcmSeal(_openssl, nonce, aad, (nuint)_aad.Length, input, (nuint)_plain.Length, output, tag);
        }
    }

    [Benchmark(Description = "open, OpenSSL EVP (reference)")]
    public unsafe int NativeOpen()
    {
        fixed (byte* nonce = _nonce, aad = _aad, input = _sealed, tag = _sealedTag, output = _output)
        {
            int status = GcmOpen(_openssl, nonce, aad, (nuint)_aad.Length, input, (nuint)_sealed.Length, tag, output);
            return status == 0 ? status : throw new CryptographicException("OpenSSL GCM open failed");
        }
    }

    [Benchmark(Description = "seal, plugin FrameCipher", OperationsPerInvoke = PluginFramesPerCall)]
    public unsafe int PluginSeal()
    {
        fixed (byte* k = _pluginKey, input = _plain, output = _pluginOutput)
        {
            return BenchSeal(k, input, (nuint)_plain.Length, output, PluginFramesPerCall);
        }
    }

    [Benchmark(Description = "open, plugin FrameCipher", OperationsPerInvoke = PluginFramesPerCall)]
    public unsafe int PluginOpen()
    {
        fixed (byte* k = _pluginKey, frame = _pluginFrame, output = _pluginOutput)
        {
            int status = BenchOpen(k, frame, (nuint)_pluginFrame.Length, output, PluginFramesPerCall);
            return status == 0 ? status : throw new CryptographicException("plugin frame open failed");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_pluginKey);
        _aes?.Dispose();
        _aes = null;
        if (_openssl != IntPtr.Zero)
        {
            GcmFree(_openssl);
            _openssl = IntPtr.Zero;
        }
        GC.SuppressFinalize(this);
    }

    // The plugin's frame-cipher hooks take a raw key, so they live in libekvfs_testhooks.so
    // (Engine/Native/include/ekvfs_testhooks.h), never in the production libekvfs.so.
    [LibraryImport("ekvfs_testhooks", EntryPoint = "ekv_bench_seal")]
    private static unsafe partial int BenchSeal(byte* key32, byte* input, nuint length, byte* output, int iterations);

    [LibraryImport("ekvfs_testhooks", EntryPoint = "ekv_bench_open")]
    private static unsafe partial int BenchOpen(byte* key32, byte* input, nuint inputLength, byte* output, int iterations);

    [LibraryImport("benchctr", EntryPoint = "benchctr_gcm_new")]
    private static partial IntPtr GcmNew(byte[] key);

    [LibraryImport("benchctr", EntryPoint = "benchctr_gcm_seal")]
    private static unsafe partial int GcmSeal(IntPtr ctx, byte* nonce, byte* aad, nuint aadLen, byte* input, nuint len, byte* output, byte* tag);

    [LibraryImport("benchctr", EntryPoint = "benchctr_gcm_open")]
    private static unsafe partial int GcmOpen(IntPtr ctx, byte* nonce, byte* aad, nuint aadLen, byte* input, nuint len, byte* tag, byte* output);

    [LibraryImport("benchctr", EntryPoint = "benchctr_gcm_free")]
    private static partial void GcmFree(IntPtr ctx);
}
