using Engine.Interop;
using RocksDbSharp;

namespace Engine.Bench.Systems;

/// <summary>
/// The RocksDB options the engine uses (EncryptedStore.Database.cs), reproduced for the plain and
/// stock-CTR baselines so that the only difference between the three is the file layer: a shared LRU
/// block cache, a default block-based table factory, RocksDB's default compression and write
/// buffers, one column family per namespace with its own directory (cf_paths), WAL on and no fsync.
/// </summary>
internal static class RocksDbSetup
{
    /// <summary>Name of the one column family ("namespace") every RocksDB-based system writes to.</summary>
    public const string ColumnFamily = "ns-1";

    /// <summary>Same floor as the engine applies to StoreOptions.BlockCacheBytes.</summary>
    public static ulong CacheBytes(long requested) => (ulong)Math.Max(requested, 1L << 20);

    public static RocksDb Open(string directory, long blockCacheBytes, IntPtr env, out ColumnFamilyHandle handle, out Cache cache)
    {
        cache = Cache.CreateLru(CacheBytes(blockCacheBytes));
        BlockBasedTableOptions table = new BlockBasedTableOptions().SetBlockCache(cache);
        DbOptions options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCreateMissingColumnFamilies(true);
        if (env != IntPtr.Zero)
        {
            options.SetEnv(env);
        }
        var families = new ColumnFamilies(new ColumnFamilyOptions().SetBlockBasedTableFactory(table));
        ColumnFamilyOptions cfOptions = new ColumnFamilyOptions().SetBlockBasedTableFactory(table);
        string cfDirectory = Path.Combine(directory, "ns", "1");
        Directory.CreateDirectory(cfDirectory);
        SetColumnFamilyPath(cfOptions, cfDirectory);
        families.Add(ColumnFamily, cfOptions);
        RocksDb db = RocksDb.Open(options, directory, families);
        handle = db.GetColumnFamily(ColumnFamily);
        return db;
    }

    /// <summary>Flush both column families and compact the data one, as EncryptedStore.Flush/Compact do.</summary>
    public static void FlushAndCompact(RocksDb db, ColumnFamilyHandle handle)
    {
        var flush = new FlushOptions().SetWaitForFlush(true);
        Native.Instance.rocksdb_flush_cf(db.Handle, flush.Handle, handle.Handle);
        db.Flush(flush);
        db.CompactRange((byte[]?)null, null, handle);
    }

    /// <summary>
    /// cf_paths through the engine plugin's setter (the 7.8.3 C API has none), so the baselines put
    /// SST files in ns/1/ exactly like the engine does.
    /// </summary>
    private static unsafe void SetColumnFamilyPath(ColumnFamilyOptions options, string dir)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        int status = NativeMethods.OptionsSetCfPath(options.Handle, dir, ulong.MaxValue, msg, NativeMethods.MessageCapacity);
        if (status != 0)
        {
            throw new InvalidOperationException($"cf_paths for {dir}: {NativeErrors.ReadMessage(msg)}");
        }
    }
}
