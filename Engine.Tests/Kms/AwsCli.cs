using System.Diagnostics;
using System.Text.Json;

namespace Engine.Tests.Kms;

/// <summary>
/// Runs the stock AWS CLI (Debian's <c>awscli</c>, installed by tools/bootstrap.sh) against the local
/// KMS, with credentials and region from environment variables only: no profile, config file,
/// pager or instance-metadata probe can change what it sends.
/// </summary>
internal sealed class AwsCli
{
    /// <summary>How long one CLI call may take on a busy machine (Python start-up included).</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromMinutes(2);

    private readonly string _executable;
    private readonly string _endpoint;
    private readonly string _region;
    private readonly string _home;

    private AwsCli(string executable, string endpoint, string region, string home)
    {
        _executable = executable;
        _endpoint = endpoint;
        _region = region;
        _home = home;
    }

    /// <summary>The CLI pointed at <paramref name="endpoint"/>, signing for <paramref name="region"/>.</summary>
    /// <param name="home">A scratch directory used as HOME, so no user's ~/.aws is read.</param>
    /// <exception cref="Xunit.Sdk.XunitException">No <c>aws</c> found: the test fails, naming the fix.</exception>
    public static AwsCli Locate(string endpoint, string region, string home)
    {
        string? executable = Find();
        if (executable is null)
        {
            Assert.Fail("the AWS CLI ('aws') was not found in /usr/bin or on PATH: tools/bootstrap.sh installs it "
                + "(Debian package awscli; as root: apt-get install --no-install-recommends awscli). "
                + "This test drives the local KMS endpoint with the stock AWS CLI and does not skip.");
        }

        return new AwsCli(executable, endpoint, region, home);
    }

    /// <summary>Runs <c>aws kms ARGS --output json</c>; returns the exit code, stdout and stderr.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("kms");
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string arg in (string[])["--endpoint-url", _endpoint, "--output", "json"])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string inherited in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["HOME"] = _home;
        start.Environment["AWS_ACCESS_KEY_ID"] = "AKIDLOCALCLI";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "local-cli-secret-not-checked";
        start.Environment["AWS_DEFAULT_REGION"] = _region;
        start.Environment["AWS_REGION"] = _region;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        start.Environment["AWS_CONFIG_FILE"] = Path.Combine(_home, "no-config");
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_home, "no-credentials");
        start.Environment["AWS_PAGER"] = string.Empty;
        start.Environment["AWS_MAX_ATTEMPTS"] = "1";

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_executable}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(CallDeadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"aws kms {string.Join(' ', args)} did not finish within {CallDeadline.TotalSeconds} s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a call that must succeed and parses its JSON output (empty output gives an empty object).</summary>
    public async Task<JsonElement> JsonAsync(params string[] args)
    {
        (int code, string stdout, string stderr) = await RunAsync(args);
        Assert.True(code == 0, $"aws kms {string.Join(' ', args)} exited {code}: {stderr}");
        using JsonDocument document = JsonDocument.Parse(string.IsNullOrWhiteSpace(stdout) ? "{}" : stdout);
        return document.RootElement.Clone();
    }

    /// <summary>The Debian package's <c>/usr/bin/aws</c> (what the bootstrap installs) first, then PATH.</summary>
    private static string? Find()
    {
        const string debian = "/usr/bin/aws";
        if (File.Exists(debian))
        {
            return debian;
        }

        string path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "aws"))
            .FirstOrDefault(File.Exists);
    }
}
