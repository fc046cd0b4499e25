using System.Globalization;
using Engine.Bench.Workloads;
using Engine.Crypto;
using Engine.Testing;

namespace Engine.Bench.Systems;

/// <summary>
/// "engine": this project's EncryptedStore through its public API (one namespace, or N with
/// --namespaces: each its own KEK, column family and directory), with the CMEK in a local key file
/// behind a call counter.
/// </summary>
internal sealed class EngineSystem : IKvSystem
{
    /// <summary>The namespace of a one-namespace run (engine-env opens the same one).</summary>
    public const string NamespaceName = "bench";

    private readonly TestCmek _cmek;
    private readonly int _namespaces;

    /// <param name="keyFile">Path for the CMEK key file; created here.</param>
    /// <param name="frameSize">Plaintext bytes per frame (StoreOptions.FrameSize).</param>
    /// <param name="namespaces">Namespaces the keys are spread over (KeySpace.NamespaceOf).</param>
    public EngineSystem(string keyFile, int frameSize, int namespaces = 1)
    {
        _cmek = new TestCmek(LocalKeyFileCmek.Create(keyFile));
        FrameSize = frameSize;
        _namespaces = namespaces;
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

    /// <summary>Name of namespace <paramref name="index"/> (from 0) in a run with <paramref name="count"/> namespaces.</summary>
    public static string NamespaceNameOf(int index, int count) =>
        count == 1 ? NamespaceName : string.Create(CultureInfo.InvariantCulture, $"{NamespaceName}-{index:D4}");

    internal void Record(EncryptedStore store)
    {
        Interop.NativeStats s = store.PluginStats;
        LastStats = new NativeCounters(s.FilesCreated, s.FilesOpened, s.FramesSealed, s.FramesOpened, s.IntegrityFailures, s.LiveDeks);
    }

    public void Dispose() => _cmek.Dispose();

    private sealed class EngineStore(EncryptedStore store, EngineSystem owner) : IKvStore
    {
        // Created (KEK, column family, directory) on the first open, outside every timed loop.
        private readonly StoreNamespace[] _namespaces =
            [.. Enumerable.Range(0, owner._namespaces).Select(i => store.GetNamespace(NamespaceNameOf(i, owner._namespaces)))];

        private StoreNamespace NamespaceOf(ReadOnlySpan<byte> key) => _namespaces[KeySpace.NamespaceOf(key, _namespaces.Length)];

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => NamespaceOf(key).Put(key, value);

        public void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count)
        {
            using StoreWriteBatch batch = store.CreateWriteBatch();
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> key = keys.Slice(i * keySize, keySize);
                batch.Put(NamespaceOf(key), key, values.Slice(i * valueSize, valueSize));
            }
            store.Write(batch);
        }

        public int Get(ReadOnlySpan<byte> key) => NamespaceOf(key).Get(key)?.Length ?? -1;

        public long ScanAll()
        {
            long count = 0;
            foreach (StoreNamespace ns in _namespaces)
            {
                foreach (KeyValuePair<byte[], byte[]> _ in ns.Scan())
                {
                    count++;
                }
            }
            return count;
        }

        public int SeekAndRead(ReadOnlySpan<byte> key, int count)
        {
            int read = 0;
            foreach (KeyValuePair<byte[], byte[]> _ in NamespaceOf(key).Scan(key.ToArray()))
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

/// <summary>
/// Counters of the engine's native plugin (files and frames), copied out of the store just before
/// it closed; LiveDeks counts the file objects then holding a DEK (each with its cipher contexts).
/// </summary>
internal readonly record struct NativeCounters(ulong FilesCreated, ulong FilesOpened, ulong FramesSealed, ulong FramesOpened, ulong IntegrityFailures, ulong LiveDeks);
