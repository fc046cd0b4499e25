using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Engine.Bench.Systems;

/// <summary>
/// "stock-ctr": RocksDB's own EncryptedEnv with the CTR provider and a real AES-256 block cipher
/// (libbenchctr.so, Engine.Bench/Native), under one random 32-byte key for the whole run. This is
/// what a RocksDB user can get without this engine: unauthenticated and one cipher call per 16 bytes.
/// </summary>
/// <param name="namespaces">Column families the keys are spread over (one per engine namespace).</param>
internal sealed partial class StockCtr(int namespaces) : IKvSystem
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public string Name => "stock-ctr";

    public long? MaxEntries => null;

    /// <summary>AES block operations the env performed so far (all stores of this system).</summary>
    public ulong BlockCalls { get; private set; }

    public IKvStore Open(string directory, long blockCacheBytes)
    {
        IntPtr env = CreateEnv(_key);
        if (env == IntPtr.Zero)
        {
            throw new InvalidOperationException("libbenchctr could not create RocksDB's encrypted env.");
        }
        try
        {
            // The env must outlive the DB: it is destroyed only after the store has closed.
            return new RocksDbStore(directory, blockCacheBytes, env, namespaces, () =>
            {
                BlockCalls += BlockCallCount(env);
                DestroyEnv(env);
            });
        }
        catch
        {
            DestroyEnv(env);
            throw;
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);

    [LibraryImport("benchctr", EntryPoint = "benchctr_env_create")]
    private static partial IntPtr CreateEnv(byte[] key);

    [LibraryImport("benchctr", EntryPoint = "benchctr_env_destroy")]
    private static partial void DestroyEnv(IntPtr env);

    [LibraryImport("benchctr", EntryPoint = "benchctr_block_calls")]
    private static partial ulong BlockCallCount(IntPtr env);
}
