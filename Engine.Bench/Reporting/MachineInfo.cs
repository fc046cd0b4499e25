using System.Runtime.InteropServices;
using Engine.Interop;

namespace Engine.Bench.Reporting;

/// <summary>What the numbers were measured on: they mean little without it.</summary>
internal sealed record MachineInfo(
    int Nproc,
    string CpuModel,
    string CpuFlagsOfNote,
    long MemoryMib,
    string Os,
    string Dotnet,
    string LibRocksDb,
    string LibRocksDbHeaders,
    string OpenSsl,
    string GitCommit)
{
    public static MachineInfo Collect()
    {
        string[] cpuinfo = TryReadLines("/proc/cpuinfo");
        string model = cpuinfo.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        string flags = cpuinfo.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? string.Empty;
        string[] notable = ["aes", "pclmulqdq", "avx2", "vaes", "vpclmulqdq", "avx512f"];
        HashSet<string> present = [.. flags.Split([' ', ':', '\t'], StringSplitOptions.RemoveEmptyEntries)];
        string memLine = TryReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal)) ?? "MemTotal: 0 kB";
        long memKb = long.TryParse(memLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kb) ? kb : 0;
        IReadOnlyList<string> rocks = NativeLibraryCheck.MappedRocksDbLibraries();
        return new MachineInfo(
            Environment.ProcessorCount,
            model,
            string.Join(' ', notable.Where(present.Contains)),
            memKb / 1024,
            RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription,
            string.Join(", ", rocks.Select(Path.GetFileName)),
            Marshal.PtrToStringUTF8(NativeMethods.RocksDbHeaderVersion()) ?? "unknown",
            OpenSslVersion(),
            ReadGitCommit());
    }

    private static string[] TryReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static string OpenSslVersion()
    {
        string? lib = Directory.Exists("/usr/lib/x86_64-linux-gnu")
            ? Directory.EnumerateFiles("/usr/lib/x86_64-linux-gnu", "libcrypto.so.*").Where(f => !f.EndsWith(".so", StringComparison.Ordinal)).Order(StringComparer.Ordinal).FirstOrDefault()
            : null;
        return lib is null ? "unknown" : Path.GetFileName(lib);
    }

    /// <summary>The commit the bench was built from, read from .git without running git.</summary>
    private static string ReadGitCommit()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string head = Path.Combine(dir.FullName, ".git", "HEAD");
            if (!File.Exists(head))
            {
                continue;
            }
            string text = File.ReadAllText(head).Trim();
            if (!text.StartsWith("ref: ", StringComparison.Ordinal))
            {
                return text;
            }
            string refFile = Path.Combine(dir.FullName, ".git", text[5..]);
            return File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : text;
        }
        return "unknown";
    }
}
