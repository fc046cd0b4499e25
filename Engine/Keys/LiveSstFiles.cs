using System.Globalization;
using System.Runtime.InteropServices;
using RocksDbSharp;

namespace Engine;

/// <summary>One live SST file as RocksDB's metadata lists it.</summary>
/// <param name="Number">RocksDB file number: monotonic, so files created later have larger numbers.</param>
/// <param name="ColumnFamily">Column family name (<c>ns-&lt;id&gt;</c> for namespaces).</param>
/// <param name="Level">LSM level.</param>
/// <param name="Bytes">File size as RocksDB records it.</param>
/// <param name="Smallest">Smallest internal user key.</param>
/// <param name="Largest">Largest user key.</param>
internal sealed record LiveSstFile(ulong Number, string ColumnFamily, int Level, long Bytes, byte[] Smallest, byte[] Largest);

/// <summary>RocksDB's live SST metadata (<c>rocksdb_livefiles</c>) and forced manual compaction.</summary>
internal static class LiveSstFiles
{
    /// <summary>RocksDB's <c>BottommostLevelCompaction::kForce</c>: rewrite the last level too.</summary>
    private const byte BottommostForce = 2;

    /// <summary>Every live SST file of <paramref name="columnFamily"/>.</summary>
    public static IReadOnlyList<LiveSstFile> Of(RocksDb db, string columnFamily)
    {
        IntPtr files = Native.Instance.rocksdb_livefiles(db.Handle);
        try
        {
            int count = Native.Instance.rocksdb_livefiles_count(files);
            var result = new List<LiveSstFile>(count);
            for (int i = 0; i < count; i++)
            {
                string cf = Marshal.PtrToStringUTF8(Native.Instance.rocksdb_livefiles_column_family_name(files, i)) ?? string.Empty;
                if (cf != columnFamily)
                {
                    continue;
                }

                string name = Marshal.PtrToStringUTF8(Native.Instance.rocksdb_livefiles_name(files, i)) ?? string.Empty;
                result.Add(new LiveSstFile(
                    ParseNumber(name),
                    cf,
                    Native.Instance.rocksdb_livefiles_level(files, i),
                    (long)Native.Instance.rocksdb_livefiles_size(files, i),
                    Key(Native.Instance.rocksdb_livefiles_smallestkey(files, i, out UIntPtr smallLength), smallLength),
                    Key(Native.Instance.rocksdb_livefiles_largestkey(files, i, out UIntPtr largeLength), largeLength)));
            }

            return result;
        }
        finally
        {
            Native.Instance.rocksdb_livefiles_destroy(files);
        }
    }

    /// <summary>
    /// Compacts [<paramref name="from"/>, <paramref name="to"/>] (null = open end) of a column family
    /// with the bottommost level forced, so every file overlapping the range is rewritten into new
    /// files (new DEKs), not merely moved between levels. Does not block automatic compactions.
    /// </summary>
    /// <remarks>RocksDB's C API reports no status for a manual compaction: callers check the result
    /// by listing live files afterwards.</remarks>
    public static void CompactForced(RocksDb db, ColumnFamilyHandle cf, byte[]? from, byte[]? to)
    {
        IntPtr options = Native.Instance.rocksdb_compactoptions_create();
        try
        {
            Native.Instance.rocksdb_compactoptions_set_bottommost_level_compaction(options, BottommostForce);
            Native.Instance.rocksdb_compactoptions_set_exclusive_manual_compaction(options, 0);
            Native.Instance.rocksdb_compact_range_cf_opt(
                db.Handle,
                cf.Handle,
                options,
                from,
                (UIntPtr)(from?.Length ?? 0),
                to,
                (UIntPtr)(to?.Length ?? 0));
        }
        finally
        {
            Native.Instance.rocksdb_compactoptions_destroy(options);
        }
    }

    /// <summary>"/000123.sst" → 123.</summary>
    internal static ulong ParseNumber(string name)
    {
        string file = Path.GetFileNameWithoutExtension(name.TrimStart('/'));
        return ulong.TryParse(file, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) ? number : 0;
    }

    private static byte[] Key(IntPtr data, UIntPtr length)
    {
        if (data == IntPtr.Zero)
        {
            return [];
        }

        byte[] key = new byte[(int)length];
        Marshal.Copy(data, key, 0, key.Length);
        return key;
    }
}
