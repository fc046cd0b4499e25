namespace Engine.Bench.Systems;

/// <summary>One of the systems compared side by side (plain, stock-ctr, engine, litedb).</summary>
internal interface IKvSystem : IDisposable
{
    /// <summary>Name in results.json: plain, stock-ctr, engine or litedb.</summary>
    string Name { get; }

    /// <summary>
    /// Largest number of entries this system is given, or null for the run's --num. LiteDB is
    /// capped because its single-document transactions would otherwise dominate the run time;
    /// ops/s stay comparable, and results.json records the count each system ran with.
    /// </summary>
    long? MaxEntries { get; }

    /// <summary>
    /// Opens (creating if needed) a store in <paramref name="directory"/>, with the namespaces the
    /// system was created for (entry i in namespace i mod N, see KeySpace.NamespaceOf).
    /// </summary>
    /// <param name="directory">An empty or previously used directory owned by this system.</param>
    /// <param name="blockCacheBytes">Block cache size; equal for every RocksDB-based system.</param>
    IKvStore Open(string directory, long blockCacheBytes);
}

/// <summary>
/// An open store under test. Put and Get may run on several threads at once (the mixed workload with
/// --threads); every other member is driven from one thread.
/// </summary>
internal interface IKvStore : IDisposable
{
    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Writes <paramref name="count"/> entries atomically; keys and values packed back to back.</summary>
    void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count);

    /// <summary>Point lookup; returns the value length, or -1 when absent.</summary>
    int Get(ReadOnlySpan<byte> key);

    /// <summary>Iterates every entry in key order, one namespace after the other; returns the number of entries seen.</summary>
    long ScanAll();

    /// <summary>
    /// Positions at the first key &gt;= <paramref name="key"/> in the key's namespace and reads up to
    /// <paramref name="count"/> entries of that namespace.
    /// </summary>
    int SeekAndRead(ReadOnlySpan<byte> key, int count);

    /// <summary>Makes every write durable in table files and compacts them fully (RocksDB: flush + full compaction).</summary>
    void FlushAndCompact();
}
