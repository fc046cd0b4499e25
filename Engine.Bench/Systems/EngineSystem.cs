using Engine.Crypto;
using Engine.Testing;

namespace Engine.Bench.Systems;

/// <summary>
/// "engine": this project's EncryptedStore through its public API (one namespace), with the CMEK in
/// a local key file behind a call counter.
/// </summary>
internal sealed class EngineSystem : IKvSystem
{
    public const string NamespaceName = "bench";

    private readonly TestCmek _cmek;

    /// <param name="keyFile">Path for the CMEK key file; created here.</param>
    /// <param name="frameSize">Plaintext bytes per frame (StoreOptions.FrameSize).</param>
    public EngineSystem(string keyFile, int frameSize)
    {
        _cmek = new TestCmek(LocalKeyFileCmek.Create(keyFile));
        FrameSize = frameSize;
    }

    public string Name => "engine";

    public long? MaxEntries => null;

    public int FrameSize { get; }

    /// <summary>CMEK wrap/unwrap calls so far, all stores of this system.</summary>
    public long CmekCalls => _cmek.CallCount;

    /// <summary>Plugin counters of the store opened last, read just before it closed.</summary>
    public NativeCounters LastStats { get; private set; }

    public IKvStore Open(string directory, long blockCacheBytes)
    {
        EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = directory,
            Cmek = _cmek,
            FrameSize = FrameSize,
            BlockCacheBytes = blockCacheBytes,
            SyncWrites = false,
        });
        return new EngineStore(store, this);
    }

    internal void Record(EncryptedStore store)
    {
        Interop.NativeStats s = store.PluginStats;
        LastStats = new NativeCounters(s.FilesCreated, s.FilesOpened, s.FramesSealed, s.FramesOpened, s.IntegrityFailures);
    }

    public void Dispose() => _cmek.Dispose();

    private sealed class EngineStore(EncryptedStore store, EngineSystem owner) : IKvStore
    {
        private readonly StoreNamespace _ns = store.GetNamespace(NamespaceName);

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _ns.Put(key, value);

        public void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count)
        {
            using StoreWriteBatch batch = store.CreateWriteBatch();
            for (int i = 0; i < count; i++)
            {
                batch.Put(_ns, keys.Slice(i * keySize, keySize), values.Slice(i * valueSize, valueSize));
            }
            store.Write(batch);
        }

        public int Get(ReadOnlySpan<byte> key) => _ns.Get(key)?.Length ?? -1;

        public long ScanAll()
        {
            long count = 0;
            foreach (KeyValuePair<byte[], byte[]> _ in _ns.Scan())
            {
                count++;
            }
            return count;
        }

        public int SeekAndRead(ReadOnlySpan<byte> key, int count)
        {
            int read = 0;
            foreach (KeyValuePair<byte[], byte[]> _ in _ns.Scan(key.ToArray()))
            {
                if (++read >= count)
                {
                    break;
                }
            }
            return read;
        }

        public void FlushAndCompact()
        {
            store.Flush();
            store.Compact();
        }

        public void Dispose()
        {
            owner.Record(store);
            store.Dispose();
        }
    }
}

/// <summary>Counters of the engine's native plugin (files and frames), copied out of the store.</summary>
internal readonly record struct NativeCounters(ulong FilesCreated, ulong FilesOpened, ulong FramesSealed, ulong FramesOpened, ulong IntegrityFailures);
