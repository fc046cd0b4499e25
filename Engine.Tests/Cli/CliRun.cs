using System.Diagnostics;
using System.Text;
using Engine.Tests.Rotation;
using Engine.Tests.Support;

namespace Engine.Tests.Cli;

/// <summary>
/// One run of the <c>engine</c> tool (the built tools/Engine.Cli, as <see cref="CliChild"/> locates it) to
/// its end, with bytes on stdin when a test gives them, stdout kept as bytes (binary values) and stderr
/// redirected (so the tool shows progress as lines, not a terminal bar).
/// </summary>
internal sealed record CliRun(int ExitCode, byte[] StdoutBytes, string Stderr)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

    /// <summary>Stdout split into lines (no trailing empty line).</summary>
    public IReadOnlyList<string> Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs <c>engine ARGS</c>; <paramref name="stdin"/> is written and closed first when given.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">The tool did not exit within the patience (it is killed).</exception>
    public static CliRun Of(byte[]? stdin, params string[] args) => WithEnvironment(stdin, null, args);

    /// <summary>
    /// Runs <c>engine ARGS</c> with the test's environment changed by <paramref name="environment"/>
    /// (a null value removes the variable).
    /// </summary>
    /// <exception cref="Xunit.Sdk.XunitException">The tool did not exit within the patience (it is killed).</exception>
    public static CliRun WithEnvironment(byte[]? stdin, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(ChildProgramBuild.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliChild.LocateBuiltCli());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_gcServer"] = "0";
        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CLI");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var stdout = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        if (stdin is not null)
        {
            process.StandardInput.BaseStream.Write(stdin);
        }
        process.StandardInput.Close();
        if (!process.WaitForExit(Patience))
        {
            process.Kill();
            throw new Xunit.Sdk.XunitException($"engine {string.Join(' ', args)} did not exit within {Patience}");
        }
        process.WaitForExit();
        copy.Wait(Patience);
        return new CliRun(process.ExitCode, stdout.ToArray(), stderr.Result);
    }

    /// <summary>Runs <c>engine ARGS</c> with an empty stdin.</summary>
    public static CliRun Of(params string[] args) => Of(null, args);

    /// <summary>Fails with the tool's output unless it exited with <paramref name="expected"/>.</summary>
    public CliRun Expect(int expected)
    {
        Assert.True(ExitCode == expected, $"exit code {ExitCode}, expected {expected}; stderr: {Stderr}; stdout: {Stdout}");
        return this;
    }
}
