using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Engine.Tests.Rotation;

/// <summary>
/// The <c>engine</c> command-line tool (tools/Engine.Cli) run as a child process that a test can kill
/// with SIGKILL. It is built in the test's configuration and must carry the very same engine binaries
/// as the test assembly, or a crash test would exercise a stale engine.
/// </summary>
internal sealed class CliChild : IDisposable
{
    private static readonly string[] SharedBinaries = ["Engine.dll", "Engine.Crypto.dll", "libekvfs.so"];
    private static readonly Lock LocateSync = new();
    private static string? s_dll;

    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly StringBuilder _stderr = new();

    private CliChild(Process process)
    {
        _process = process;
        var reader = new Thread(() =>
        {
            while (_process.StandardOutput.ReadLine() is string line)
            {
                _lines.Add(line);
            }

            _lines.CompleteAdding();
        })
        { IsBackground = true, Name = "cli-child-stdout" };
        reader.Start();
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static CliChild Start(params string[] args)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Locate());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_gcServer"] = "0";
        return new CliChild(Process.Start(psi) ?? throw new InvalidOperationException("could not start the engine CLI"));
    }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>; fails with the child's output otherwise.</summary>
    public void WaitForLine(string prefix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!_lines.TryTake(out string? line, timeout - clock.Elapsed))
            {
                break;
            }

            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new Xunit.Sdk.XunitException($"the CLI did not print '{prefix}...' within {timeout}; stderr: {Stderr}");
    }

    /// <summary>SIGKILL (what <c>kill -9</c> sends), then waits for the process to be gone.</summary>
    /// <returns>False when the child had already exited by itself (it finished before the kill).</returns>
    public bool Kill()
    {
        bool running = !_process.HasExited;
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
        return running;
    }

    /// <summary>Waits for a normal exit and returns the exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new Xunit.Sdk.XunitException($"the CLI did not exit within {timeout}; stderr: {Stderr}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
        _lines.Dispose();
    }

    private static string DotnetHost()
    {
        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>The CLI's dll, (re)built in the test's configuration when stale.</summary>
    private static string Locate()
    {
        lock (LocateSync)
        {
            if (s_dll is not null)
            {
                return s_dll;
            }

            string testBin = AppContext.BaseDirectory;
            string repo = RepoRoot(testBin);
            string? parent = new DirectoryInfo(testBin).Parent?.Name;
            string configuration = parent is "Debug" or "Release" ? parent : "Release";
            string project = Path.Combine(repo, "tools", "Engine.Cli");
            string bin = Path.Combine(project, "bin", configuration, "net10.0");
            string dll = Path.Combine(bin, "Engine.Cli.dll");
            if (Staleness(project, testBin, bin, dll) is string reason)
            {
                Build(Path.Combine(project, "Engine.Cli.csproj"), configuration, reason);
                if (Staleness(project, testBin, bin, dll) is string still)
                {
                    throw new InvalidOperationException($"the CLI at {dll} still differs from the test build after rebuilding it: {still}");
                }
            }

            s_dll = dll;
            return dll;
        }
    }

    private static string? Staleness(string project, string testBin, string bin, string dll)
    {
        if (!File.Exists(dll))
        {
            return "not built";
        }

        DateTime built = File.GetLastWriteTimeUtc(dll);
        if (Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories).Any(f => !f.Contains("/obj/", StringComparison.Ordinal) && File.GetLastWriteTimeUtc(f) > built))
        {
            return "a CLI source is newer than the build";
        }

        foreach (string name in SharedBinaries)
        {
            string mine = Path.Combine(testBin, name);
            string theirs = Path.Combine(bin, name);
            if (!File.Exists(theirs) || (File.Exists(mine) && !SHA256.HashData(File.ReadAllBytes(mine)).SequenceEqual(SHA256.HashData(File.ReadAllBytes(theirs)))))
            {
                return $"{name} differs from the test assembly's copy";
            }
        }

        return null;
    }

    private static void Build(string project, string configuration, string reason)
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
            throw new InvalidOperationException($"building the CLI ({reason}) failed:\n{output}\n{err.Result}");
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
