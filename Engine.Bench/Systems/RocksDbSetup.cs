using System.Globalization;
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
    /// <summary>Name of the column family ("namespace") number <paramref name="ordinal"/> (from 1), in directory ns/ordinal.</summary>
    public static string ColumnFamily(int ordinal) => string.Create(CultureInfo.InvariantCulture, $"ns-{ordinal}");

    /// <summary>Same floor as the engine applies to StoreOptions.BlockCacheBytes.</summary>
    public static ulong CacheBytes(long requested) => (ulong)Math.Max(requested, 1L << 20);

    /// <summary>Opens (creating if needed) a DB with <paramref name="namespaces"/> column families, ns-1 in ns/1 and so on.</summary>
    public static RocksDb Open(string directory, long blockCacheBytes, IntPtr env, int namespaces, out ColumnFamilyHandle[] handles, out Cache cache)
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
        for (int ordinal = 1; ordinal <= namespaces; ordinal++)
        {
            ColumnFamilyOptions cfOptions = new ColumnFamilyOptions().SetBlockBasedTableFactory(table);
            string cfDirectory = Path.Combine(directory, "ns", ordinal.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(cfDirectory);
            SetColumnFamilyPath(cfOptions, cfDirectory);
            families.Add(ColumnFamily(ordinal), cfOptions);
        }
        RocksDb db = RocksDb.Open(options, directory, families);
        handles = [.. Enumerable.Range(1, namespaces).Select(ordinal => db.GetColumnFamily(ColumnFamily(ordinal)))];
        return db;
    }

    /// <summary>Flush every column family and compact each data one, as EncryptedStore.Flush/Compact do.</summary>
    public static void FlushAndCompact(RocksDb db, IReadOnlyList<ColumnFamilyHandle> handles)
    {
        var flush = new FlushOptions().SetWaitForFlush(true);
        foreach (ColumnFamilyHandle handle in handles)
        {
            Native.Instance.rocksdb_flush_cf(db.Handle, flush.Handle, handle.Handle);
        }
        db.Flush(flush);
        foreach (ColumnFamilyHandle handle in handles)
        {
            db.CompactRange((byte[]?)null, null, handle);
        }
    }

    /// <summary>
    /// cf_paths through the engine plugin's setter (the 7.8.3 C API has none), so the baselines put
    /// SST files in ns/1/ (and so on) exactly like the engine does.
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
