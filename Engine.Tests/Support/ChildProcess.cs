using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Engine.Tests.Support;

/// <summary>
/// A child program that a test starts, follows through the lines it prints on stdout, and kills with
/// SIGKILL: the one harness of the crash tests (model crashes, the crash campaign, the tamper and header
/// campaigns' workers, the CLI killed during a rotation).
/// </summary>
/// <remarks>
/// <para>Two kinds of child. <see cref="StartInTests"/> runs a static <c>int ChildMain(string[])</c> of a
/// type of this test assembly: the child is <c>dotnet Engine.Tests.dll</c> started with
/// <c>DOTNET_STARTUP_HOOKS</c> naming the same assembly, so the runtime calls <see cref="StartupHook"/>
/// before the (empty) test-SDK entry point and it runs the entry named by <see cref="EntryVariable"/>; same
/// binaries as the test, nothing to build. <see cref="StartProgram"/> runs another program of the
/// repository (the CLI, the product under test), located and rebuilt when stale by
/// <see cref="ChildProgramBuild"/>.</para>
/// <para>Acknowledgements: a child prints a line (one write, flushed) only after what it names happened.
/// A line cut by the kill (no newline) was not acknowledged and is dropped.</para>
/// </remarks>
internal sealed class ChildProcess : IDisposable
{
    /// <summary>Environment variable naming the entry type (<c>FullName</c>) the startup hook runs.</summary>
    public const string EntryVariable = "ENGINE_TEST_CHILD_ENTRY";

    /// <summary>The static method of an entry type that is the child's main.</summary>
    public const string EntryMethod = "ChildMain";

    private readonly Process _process;
    private readonly string _description;
    private readonly Thread _reader;
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _all = [];
    private readonly StringBuilder _stderr = new();

    private ChildProcess(Process process, string description)
    {
        _process = process;
        _description = description;
        _reader = new Thread(ReadLines) { IsBackground = true, Name = description + " stdout" };
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

    /// <summary>What the child is, for messages.</summary>
    public string Description => _description;

    public bool HasExited => _process.HasExited;

    /// <summary>The child's process id (to dump it with gcore).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The child closed its stdout (it exited or is exiting) and every line was taken.</summary>
    public bool OutputEnded => _lines.IsCompleted;

    /// <summary>Everything the child wrote on stderr so far.</summary>
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

    /// <summary>Exit code, or null when the process was ended by a signal (SIGKILL).</summary>
    public int? ExitCodeOrSignal => _process.ExitCode is >= 128 + 1 and <= 128 + 64 ? null : _process.ExitCode;

    /// <summary>The exit code as the runtime reports it (128 + signal number after a signal).</summary>
    public int RawExitCode => _process.ExitCode;

    /// <summary>Every complete line the child wrote (all of them once it was killed or exited).</summary>
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

    /// <summary>
    /// Runs <c>ChildMain(string[])</c> of <paramref name="entryType"/> (a type of this test assembly) in a
    /// child process: a native crash or a SIGKILL ends the child, not the test host.
    /// </summary>
    /// <exception cref="ArgumentException">The type has no static <c>int ChildMain(string[])</c>.</exception>
    /// <exception cref="InvalidOperationException">The process could not be started.</exception>
    public static ChildProcess StartInTests(Type entryType, params IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(entryType);
        _ = FindEntry(entryType);
        string assembly = entryType.Assembly.Location;
        ProcessStartInfo psi = StartInfo(assembly, args);
        psi.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
        psi.Environment[EntryVariable] = entryType.FullName;
        return Start(psi, entryType.Name);
    }

    /// <summary>Runs a program of the repository (a dll from <see cref="ChildProgramBuild.Locate"/>) in a child process.</summary>
    /// <exception cref="InvalidOperationException">The process could not be started.</exception>
    public static ChildProcess StartProgram(string dll, string description, params IEnumerable<string> args) =>
        Start(StartInfo(dll, args), description);

    /// <summary>
    /// Called by <see cref="StartupHook"/> in the child: runs the entry named by <see cref="EntryVariable"/>
    /// with the command-line arguments; null when this process is not a child (the test host).
    /// </summary>
    public static int? RunEntryOfThisProcess()
    {
        string? name = Environment.GetEnvironmentVariable(EntryVariable);
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }
        Type type = typeof(ChildProcess).Assembly.GetType(name, throwOnError: true)!;
        string[] args = Environment.GetCommandLineArgs()[1..]; // [0] is the test assembly
        try
        {
            return (int)FindEntry(type).Invoke(null, [args])!;
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            Console.Error.WriteLine(ex.InnerException);
            return 3;
        }
    }

    /// <summary>Next complete stdout line, or null when none arrives within <paramref name="timeout"/> (or the output ended).</summary>
    public string? NextLine(TimeSpan timeout)
    {
        try
        {
            return timeout > TimeSpan.Zero && _lines.TryTake(out string? line, timeout) ? line : null;
        }
        catch (InvalidOperationException)
        {
            return null; // completed: the child closed stdout
        }
    }

    /// <summary>
    /// Takes stdout lines until one matches, each non-matching line passed to <paramref name="skipped"/>;
    /// the matching line, or null when the deadline passes or the output ends first.
    /// </summary>
    public string? WaitForLine(Func<string, bool> match, TimeSpan timeout, Action<string>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        var clock = Stopwatch.StartNew();
        while (NextLine(timeout - clock.Elapsed) is string line)
        {
            if (match(line))
            {
                return line;
            }
            skipped?.Invoke(line);
        }
        return null;
    }

    /// <summary>SIGKILL (what <c>kill -9</c> sends), then waits for the process and for the end of its output.</summary>
    /// <returns>False when the child had already exited by itself.</returns>
    public bool Kill()
    {
        bool running = !_process.HasExited;
        try
        {
            _process.Kill(entireProcessTree: false);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        Drain();
        return running;
    }

    /// <summary>Waits for the child to exit by itself; kills it when it has not within <paramref name="timeout"/>.</summary>
    /// <returns>True when it exited by itself, false when it had to be killed.</returns>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            return false;
        }
        Drain();
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }
        else
        {
            Drain(); // the reader may still be adding lines from the pipe
        }
        _process.Dispose();
        _lines.Dispose();
    }

    private static MethodInfo FindEntry(Type type)
    {
        MethodInfo? entry = type.GetMethod(EntryMethod, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(string[])]);
        return entry is not null && entry.ReturnType == typeof(int)
            ? entry
            : throw new ArgumentException($"{type.FullName} has no static int {EntryMethod}(string[])", nameof(type));
    }

    private static ProcessStartInfo StartInfo(string dll, IEnumerable<string> args)
    {
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
        // No server-GC threads per child; tiered compilation stays on (a faster start).
        psi.Environment["DOTNET_gcServer"] = "0";
        psi.Environment["DOTNET_TieredPGO"] = "0";
        return psi;
    }

    private static ChildProcess Start(ProcessStartInfo psi, string description) =>
        new(Process.Start(psi) ?? throw new InvalidOperationException($"could not start the {description}"), description);

    /// <summary>Waits for the process (which also drains the async stderr reader) and for the stdout reader.</summary>
    private void Drain()
    {
        _process.WaitForExit();
        _reader.Join();
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
}
