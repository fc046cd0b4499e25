using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>
/// The <c>engine</c> command-line tool (tools/Engine.Cli) run as a child process that a test can kill
/// with SIGKILL. It is built in the test's configuration and must carry the very same engine binaries
/// as the test assembly, or a crash test would exercise a stale engine.
/// </summary>
internal sealed class CliChild : IDisposable
{
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
        var psi = new ProcessStartInfo(ChildProgramBuild.DotnetHost())
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

    /// <summary>The CLI's dll, (re)built in the test's configuration when stale.</summary>
    /// <summary>The CLI's dll, built and current in the test's configuration (the packaging tests pack it).</summary>
    internal static string LocateBuiltCli() => Locate();

    private static string Locate() => ChildProgramBuild.Locate(Path.Combine("tools", "Engine.Cli"), "CLI", repo =>
        Directory.EnumerateFiles(Path.Combine(repo, "tools", "Engine.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)));
}
