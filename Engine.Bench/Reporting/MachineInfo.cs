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

    /// <summary>
    /// The commit the bench was built from, read from .git without running git: a clone's .git
    /// directory, or a worktree's .git file ("gitdir: ..."), whose refs live in the common directory.
    /// </summary>
    private static string ReadGitCommit()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string dotGit = Path.Combine(dir.FullName, ".git");
            string gitDir;
            if (Directory.Exists(dotGit))
            {
                gitDir = dotGit;
            }
            else if (File.Exists(dotGit) && File.ReadAllText(dotGit).Trim() is var link && link.StartsWith("gitdir: ", StringComparison.Ordinal))
            {
                gitDir = Path.GetFullPath(link[8..], dir.FullName);
            }
            else
            {
                continue;
            }
            string head = Path.Combine(gitDir, "HEAD");
            if (!File.Exists(head))
            {
                return "unknown";
            }
            string text = File.ReadAllText(head).Trim();
            if (!text.StartsWith("ref: ", StringComparison.Ordinal))
            {
                return text;
            }
            string refName = text[5..];
            string commonFile = Path.Combine(gitDir, "commondir");
            string common = File.Exists(commonFile) ? Path.GetFullPath(File.ReadAllText(commonFile).Trim(), gitDir) : gitDir;
            foreach (string root in new[] { gitDir, common })
            {
                string refFile = Path.Combine(root, refName);
                if (File.Exists(refFile))
                {
                    return File.ReadAllText(refFile).Trim();
                }
            }
            string packed = Path.Combine(common, "packed-refs");
            string? line = File.Exists(packed) ? File.ReadLines(packed).FirstOrDefault(l => l.EndsWith(" " + refName, StringComparison.Ordinal)) : null;
            return line?.Split(' ')[0] ?? text;
        }
        return "unknown";
    }
}
