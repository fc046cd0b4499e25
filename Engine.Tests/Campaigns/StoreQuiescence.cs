using System.Diagnostics;
using System.Globalization;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Waits until RocksDB runs no background flush or compaction. Needed before
/// <see cref="EncryptedStore.Verify()"/>: it lists the directories and authenticates every file, including an
/// SST that a background compaction is still writing, which has no final frame yet and so fails as
/// "missing final frame (file truncated)". (Reported as an engine bug: Verify should skip files that are
/// not live yet. Remove this wait once it does.)
/// </summary>
internal static class StoreQuiescence
{
    private static readonly string[] s_dbWide = ["rocksdb.num-running-compactions", "rocksdb.num-running-flushes"];
    private static readonly string[] s_perFamily = ["rocksdb.compaction-pending", "rocksdb.mem-table-flush-pending"];

    public static void WaitForBackgroundWork(EncryptedStore store, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        int quietPolls = 0;
        while (quietPolls < 2)
        {
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"RocksDB background work did not settle within {clock.Elapsed.TotalSeconds:F0} s");
            }
            quietPolls = IsQuiet(store) ? quietPolls + 1 : 0;
            Thread.Sleep(5);
        }
    }

    private static bool IsQuiet(EncryptedStore store) => store.Run(session =>
    {
        RocksDbSharp.RocksDb db = session.Db;
        if (s_dbWide.Any(p => Number(db.GetProperty(p)) != 0))
        {
            return false;
        }
        foreach (string name in store.ListNamespaces())
        {
            if (store.TryGetNamespace(name, out StoreNamespace? ns))
            {
                RocksDbSharp.ColumnFamilyHandle cf = ns.HandleIn(session);
                if (s_perFamily.Any(p => Number(db.GetProperty(p, cf)) != 0))
                {
                    return false;
                }
            }
        }
        return true;
    });

    private static long Number(string? value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : -1;
}
