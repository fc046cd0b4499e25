using System.Security.Cryptography;

namespace Engine.Cli.Demo;

/// <summary>Byte-level looks at a store directory from outside the engine: canary search, hashing, copying, tampering.</summary>
internal static class StoreFiles
{
    public static IEnumerable<string> All(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    /// <summary>Searches every file under <paramref name="dir"/> for <paramref name="needle"/>, byte-wise.</summary>
    public static CanaryScan FindCanary(string dir, ReadOnlySpan<byte> needle)
    {
        int files = 0;
        long bytes = 0;
        var hits = new List<string>();
        foreach (string file in All(dir))
        {
            byte[] content = File.ReadAllBytes(file);
            files++;
            bytes += content.Length;
            if (content.AsSpan().IndexOf(needle) >= 0)
            {
                hits.Add(Path.GetRelativePath(dir, file));
            }
        }
        return new CanaryScan(files, bytes, hits);
    }

    /// <summary>SHA-256 of every file, keyed by relative path: equal maps mean byte-identical trees.</summary>
    public static SortedDictionary<string, string> Fingerprint(string dir)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in All(dir))
        {
            using FileStream stream = File.OpenRead(file);
            map[Path.GetRelativePath(dir, file)] = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        return map;
    }

    public static void Copy(string from, string to)
    {
        foreach (string file in All(from))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>
    /// Inverts one byte in the middle of the largest SST (past the plugin's 1024-byte header, so the
    /// data frames rather than the header are hit). Returns the file and offset, or null if there is no SST.
    /// </summary>
    public static (string File, long Offset, long Length)? FlipByteInLargestSst(string dir)
    {
        const long HeaderBytes = 1024;
        FileInfo? sst = Directory.EnumerateFiles(dir, "*.sst", SearchOption.AllDirectories)
            .Select(f => new FileInfo(f))
            .Where(f => f.Length > HeaderBytes + 1)
            .OrderByDescending(f => f.Length)
            .FirstOrDefault();
        if (sst is null)
        {
            return null;
        }
        long offset = HeaderBytes + ((sst.Length - HeaderBytes) / 2);
        using (FileStream stream = File.Open(sst.FullName, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            int original = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(original ^ 0xFF));
        }
        return (Path.GetRelativePath(dir, sst.FullName), offset, sst.Length);
    }
}

/// <summary>Result of <see cref="StoreFiles.FindCanary"/>.</summary>
internal sealed record CanaryScan(int Files, long Bytes, IReadOnlyList<string> Hits);
