using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>
/// The <c>engine</c> command-line tool (tools/Engine.Cli), the product under test, run as a
/// <see cref="ChildProcess"/> that a test can kill with SIGKILL. It is built in the test's configuration
/// and must carry the very same engine binaries as the test assembly, or a crash test would exercise a
/// stale engine (<see cref="ChildProgramBuild"/>).
/// </summary>
internal static class CliChild
{
    /// <summary>Starts <c>engine</c> with <paramref name="args"/>.</summary>
    /// <exception cref="InvalidOperationException">Building or starting the CLI failed.</exception>
    public static ChildProcess Start(params string[] args) => ChildProcess.StartProgram(Locate(), "CLI", args);

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>; fails with the child's output otherwise.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">No such line within <paramref name="timeout"/>.</exception>
    public static void WaitForLine(ChildProcess cli, string prefix, TimeSpan timeout)
    {
        if (cli.WaitForLine(line => line.StartsWith(prefix, StringComparison.Ordinal), timeout) is null)
        {
            throw new Xunit.Sdk.XunitException($"the CLI did not print '{prefix}...' within {timeout}; stderr: {cli.Stderr}");
        }
    }

    /// <summary>Waits for a normal exit and returns the exit code.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">The CLI did not exit within <paramref name="timeout"/> (it is killed).</exception>
    public static int WaitForExit(ChildProcess cli, TimeSpan timeout) =>
        cli.WaitForExit(timeout) ? cli.RawExitCode : throw new Xunit.Sdk.XunitException($"the CLI did not exit within {timeout}; stderr: {cli.Stderr}");

    /// <summary>The CLI's dll, (re)built in the test's configuration when stale.</summary>
    /// <summary>The CLI's dll, built and current in the test's configuration (the packaging tests pack it).</summary>
    internal static string LocateBuiltCli() => Locate();

    private static string Locate() => ChildProgramBuild.Locate(Path.Combine("tools", "Engine.Cli"), "CLI", repo =>
        Directory.EnumerateFiles(Path.Combine(repo, "tools", "Engine.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)));
}
