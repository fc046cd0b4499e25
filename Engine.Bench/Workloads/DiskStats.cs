using System.Globalization;

namespace Engine.Bench.Workloads;

/// <summary>
/// This process's write counters from /proc/self/io. wchar counts bytes handed to write(2) and
/// friends, i.e. bytes written to files (RocksDB writes through write/pwrite, not mmap); it is the
/// numerator of write amplification. write_bytes counts bytes the kernel sent (or will send) to the
/// block device, which lags behind writeback and is reported for reference only.
/// </summary>
internal readonly record struct ProcIo(long WriteChars, long WriteBytes)
{
    public static ProcIo Read()
    {
        long wchar = 0;
        long writeBytes = 0;
        foreach (string line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("wchar:", StringComparison.Ordinal))
            {
                wchar = long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
            {
                writeBytes = long.Parse(line.AsSpan(12).Trim(), CultureInfo.InvariantCulture);
            }
        }
        return new ProcIo(wchar, writeBytes);
    }

    public static ProcIo operator -(ProcIo a, ProcIo b) => new(a.WriteChars - b.WriteChars, a.WriteBytes - b.WriteBytes);
}

/// <summary>Bytes on disk under a store directory: everything, and the table files alone.</summary>
internal readonly record struct DirUsage(long TotalBytes, long TableBytes, int Files)
{
    public static DirUsage Measure(string directory)
    {
        long total = 0;
        long tables = 0;
        int files = 0;
        foreach (FileInfo file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            total += file.Length;
            files++;
            // RocksDB table files, or LiteDB's data file (its only long-term storage).
            if (file.Extension == ".sst" || file.Name == "lite.db")
            {
                tables += file.Length;
            }
        }
        return new DirUsage(total, tables, files);
    }
}
