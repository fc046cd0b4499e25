using System.Diagnostics;
using System.Security.Cryptography;

namespace Engine.Tests.Support;

/// <summary>
/// Finds (and if needed builds) a program of this repository that tests run as a child process (the
/// CLI; children that run test code use the test assembly itself, see <see cref="ChildProcess"/>). The child must carry the very same engine and native plugin as the test
/// assembly, or a crash test would exercise a stale engine: the build counts as stale when it is
/// missing, when one of its sources is newer, or when an engine binary differs from the test's copy.
/// </summary>
internal static class ChildProgramBuild
{
    private static readonly string[] s_sharedBinaries = ["Engine.dll", "Engine.Crypto.dll", "libekvfs.so"];
    private static readonly Lock s_sync = new(); // one build at a time: child programs share the engine projects
    private static readonly Dictionary<string, string> s_located = new(StringComparer.Ordinal);

    /// <summary>The dotnet host running this test process (or <c>dotnet</c> from PATH).</summary>
    public static string DotnetHost()
    {
        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>
    /// Path of the dll of the project in <paramref name="projectDirectory"/> (relative to the repository
    /// root; the project and dll are named after the directory), built in the test's configuration.
    /// </summary>
    /// <param name="projectDirectory">For example <c>tools/Engine.Cli</c>.</param>
    /// <param name="description">What the child is, for error messages.</param>
    /// <param name="sources">Given the repository root, the source files whose change makes the build stale.</param>
    /// <exception cref="InvalidOperationException">The build failed, or still differs from the test build.</exception>
    public static string Locate(string projectDirectory, string description, Func<string, IEnumerable<string>> sources)
    {
        lock (s_sync)
        {
            if (s_located.TryGetValue(projectDirectory, out string? known))
            {
                return known;
            }
            string testBin = AppContext.BaseDirectory;
            string repo = RepoRoot(testBin);
            string? parent = new DirectoryInfo(testBin).Parent?.Name;
            string configuration = parent is "Debug" or "Release" ? parent : "Release";
            string project = Path.Combine(repo, projectDirectory);
            string name = Path.GetFileName(project);
            string bin = Path.Combine(project, "bin", configuration, "net10.0");
            string dll = Path.Combine(bin, name + ".dll");
            if (Staleness(sources(repo), testBin, bin, dll) is string reason)
            {
                Build(Path.Combine(project, name + ".csproj"), configuration, description, reason);
                if (Staleness(sources(repo), testBin, bin, dll) is string still)
                {
                    throw new InvalidOperationException($"the {description} at {dll} still differs from the test build after rebuilding it: {still}");
                }
            }
            s_located[projectDirectory] = dll;
            return dll;
        }
    }

    private static string? Staleness(IEnumerable<string> sources, string testBin, string bin, string dll)
    {
        if (!File.Exists(dll))
        {
            return "not built";
        }
        DateTime built = File.GetLastWriteTimeUtc(dll);
        foreach (string source in sources)
        {
            if (File.Exists(source) && File.GetLastWriteTimeUtc(source) > built)
            {
                return $"{source} is newer than the build";
            }
        }
        foreach (string name in s_sharedBinaries)
        {
            string mine = Path.Combine(testBin, name);
            string theirs = Path.Combine(bin, name);
            if (!File.Exists(theirs) || (File.Exists(mine) && !FileHash(mine).SequenceEqual(FileHash(theirs))))
            {
                return $"{name} differs from the test assembly's copy";
            }
        }
        return null;
    }

    private static byte[] FileHash(string path) => SHA256.HashData(File.ReadAllBytes(path));

    private static void Build(string project, string configuration, string description, string reason)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "build", project, "-c", configuration, "-nologo", "-v", "q" })
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the {description} ({reason}) failed:\n{output}\n{err.Result}");
        }
    }

    private static string RepoRoot(string start)
    {
        for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Storage.sln")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"no Storage.sln above {start}");
    }
}
