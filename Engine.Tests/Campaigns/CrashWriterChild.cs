using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Locates (and if needed builds) the <c>Engine.Tests.CrashWriter</c> child program, and runs one
/// instance of it whose stdout lines are collected on a background thread.
/// </summary>
/// <remarks>
/// The child is a separate project (a test assembly has no usable entry point). It must run against the
/// very same engine and native plugin as this test assembly, or the campaign would test a stale build:
/// <see cref="Locate"/> rebuilds it when needed (<see cref="ChildProgramBuild"/>).
/// </remarks>
internal sealed class CrashWriterChild : IDisposable
{
    private readonly Process _process;
    private readonly Thread _reader;
    private readonly BlockingCollection<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly List<string> _all = [];

    private CrashWriterChild(Process process)
    {
        _process = process;
        _reader = new Thread(ReadLines) { IsBackground = true, Name = "crash-writer-stdout" };
        _reader.Start();
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The child closed its stdout (it exited or is exiting) and every line was taken.</summary>
    public bool OutputEnded => _lines.IsCompleted;

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

    /// <summary>Starts the child on <paramref name="storePath"/> at operation <paramref name="firstOp"/>.</summary>
    public static CrashWriterChild Start(string storePath, string cmekUri, int seed, long firstOp, long? count = null)
    {
        var args = new List<string> { storePath, cmekUri, seed.ToString(CultureInfo.InvariantCulture), firstOp.ToString(CultureInfo.InvariantCulture) };
        if (count is long c)
        {
            args.Add(c.ToString(CultureInfo.InvariantCulture));
        }
        return StartWith(args);
    }

    /// <summary>
    /// Runs <c>WorkerMain(string[])</c> of <paramref name="workerType"/> (a type of this test assembly) in a
    /// child process, so that a native crash ends the child, not the test host.
    /// </summary>
    public static CrashWriterChild StartWorker(Type workerType, params string[] args) =>
        StartWith(["run-in-tests", workerType.Assembly.Location, workerType.FullName!, .. args]);

    private static CrashWriterChild StartWith(IEnumerable<string> args)
    {
        string dll = Locate();
        var psi = new ProcessStartInfo(ChildProgramBuild.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // Tiered compilation off would slow the start; keep the defaults, but no server GC threads.
        psi.Environment["DOTNET_gcServer"] = "0";
        psi.Environment["DOTNET_TieredPGO"] = "0";
        return new CrashWriterChild(Process.Start(psi) ?? throw new InvalidOperationException("could not start the crash writer"));
    }

    /// <summary>Next complete stdout line, or null when none arrives within <paramref name="timeout"/> (or the child ended).</summary>
    public string? NextLine(TimeSpan timeout)
    {
        try
        {
            return _lines.TryTake(out string? line, timeout) ? line : null;
        }
        catch (InvalidOperationException)
        {
            return null; // completed: the child closed stdout
        }
    }

    /// <summary>SIGKILL (Process.Kill on Linux), then waits for the process and for the end of its output.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited; the caller sees it through ExitCode.
        }
        WaitForExit(TimeSpan.FromSeconds(30));
    }

    public void WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.WaitForExit(); // drains the async stderr reader
        _reader.Join();
    }

    /// <summary>Exit code, or null when the process was killed by a signal.</summary>
    public int? ExitCodeOrSignal => _process.ExitCode >= 128 + 1 && _process.ExitCode <= 128 + 64 ? null : _process.ExitCode;

    public int RawExitCode => _process.ExitCode;

    /// <summary>Every complete line the child wrote (after <see cref="Kill"/> or <see cref="WaitForExit"/>).</summary>
    public IReadOnlyList<string> AllLines
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    private void ReadLines()
    {
        Stream stdout = _process.StandardOutput.BaseStream;
        byte[] buffer = new byte[4096];
        var pending = new List<byte>();
        try
        {
            int n;
            while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] == (byte)'\n')
                    {
                        string line = Encoding.UTF8.GetString([.. pending]);
                        pending.Clear();
                        lock (_all)
                        {
                            _all.Add(line);
                        }
                        _lines.Add(line);
                    }
                    else
                    {
                        pending.Add(buffer[i]);
                    }
                }
            }
        }
        catch (IOException)
        {
            // The pipe broke with the kill: what arrived is all there is.
        }
        // A line without its newline was cut by the kill: it was not acknowledged.
        _lines.CompleteAdding();
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

    /// <summary>Path of the child's dll, built against the same engine binaries as this test assembly.</summary>
    internal static string Locate() => ChildProgramBuild.Locate("Engine.Tests.CrashWriter", "crash writer", repo =>
        [Path.Combine(repo, "Engine.Tests", "Campaigns", "CrashWorkload.cs"), Path.Combine(repo, "Engine.Tests.CrashWriter", "Program.cs")]);
}
