using System.Diagnostics;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// DEK rotation of one namespace: every SST file of the namespace is rewritten by a manual
/// compaction with the bottommost level forced, so its data ends up in new files, each with a fresh
/// DEK. Throttled by splitting the work into one compaction per old file's key range.
/// </summary>
internal static class DataKeyRotator
{
    private const int FinalPasses = 3;

    public static DataKeyRotationProgress Rotate(EncryptedStore store, StoreNamespace ns, DataKeyRotationOptions options, CancellationToken ct)
    {
        string cf = StoreLayout.ColumnFamilyName(ns.Info.Id);

        // Files numbered up to the boundary existed when the rotation began (old DEKs); RocksDB file
        // numbers only grow, so everything written from now on is above it.
        ulong boundary = store.Run(s => LiveSstFiles.Of(s.Db, cf).Select(f => f.Number).DefaultIfEmpty(0ul).Max());
        // The memtable's data goes to a new SST under a fresh DEK (and its WAL becomes obsolete).
        store.Run(s =>
        {
            FlushOptions flush = new FlushOptions().SetWaitForFlush(true);
            Native.Instance.rocksdb_flush_cf(s.Db.Handle, flush.Handle, ns.HandleIn(s).Handle);
        });
        DataKeyRotationProgress progress = Measure(store, ns, cf, boundary, out IReadOnlyList<LiveSstFile> old);
        Report(store, options, progress);

        if (options.BytesPerSecond > 0)
        {
            var clock = Stopwatch.StartNew();
            long rewritten = 0;
            foreach (LiveSstFile file in old.OrderByDescending(f => f.Level).ThenBy(f => f.Smallest, ByteComparer.Instance))
            {
                ct.ThrowIfCancellationRequested();
                if (!Measure(store, ns, cf, boundary, out IReadOnlyList<LiveSstFile> stillOld).Complete
                    && stillOld.Any(f => f.Number == file.Number))
                {
                    store.Run(s => LiveSstFiles.CompactForced(s.Db, ns.HandleIn(s), file.Smallest, file.Largest));
                    DataKeyRotationProgress now = Measure(store, ns, cf, boundary, out _);
                    rewritten += Math.Max(0, progress.OldBytes - now.OldBytes);
                    progress = now;
                    Report(store, options, progress);
                    TimeSpan due = TimeSpan.FromSeconds((double)rewritten / options.BytesPerSecond) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        ct.WaitHandle.WaitOne(due);
                    }
                }
            }
        }

        // Unthrottled, or whatever the slices left (RocksDB's C API reports no compaction status, so
        // the live file list is the only judge of completion).
        for (int pass = 0; pass < FinalPasses && !progress.Complete; pass++)
        {
            ct.ThrowIfCancellationRequested();
            store.Run(s => LiveSstFiles.CompactForced(s.Db, ns.HandleIn(s), null, null));
            progress = Measure(store, ns, cf, boundary, out _);
            Report(store, options, progress);
        }

        return progress;
    }

    private static void Report(EncryptedStore store, DataKeyRotationOptions options, DataKeyRotationProgress progress)
    {
        store.Telemetry.DataRotationProgress(progress);
        options.Progress?.Report(progress);
    }

    private static DataKeyRotationProgress Measure(EncryptedStore store, StoreNamespace ns, string cf, ulong boundary, out IReadOnlyList<LiveSstFile> old)
    {
        IReadOnlyList<LiveSstFile> live = store.Run(s => LiveSstFiles.Of(s.Db, cf));
        old = [.. live.Where(f => f.Number <= boundary)];
        LiveSstFile[] fresh = [.. live.Where(f => f.Number > boundary)];
        return new DataKeyRotationProgress(ns.Name, old.Count, old.Sum(f => f.Bytes), fresh.Length, fresh.Sum(f => f.Bytes));
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
