using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Engine.Tests.Model;

/// <summary>
/// The budget of the property tests, from the environment:
/// <c>ENGINE_PBT_RUNS=N</c> (runs per property), <c>ENGINE_PBT_MINUTES=M</c> (long mode: keep running
/// fresh seeds for M minutes per property, longer command sequences), <c>ENGINE_PBT_SEED=S,G[,SIZE]</c>
/// (replay one seed as printed by a failure; with SIZE just the failing run).
/// </summary>
internal sealed record PbtBudget(int? Runs, double? Minutes, (ulong Seed, ulong Gamma, int? Size)? Replay)
{
    public static PbtBudget FromEnvironment()
    {
        int? runs = int.TryParse(Environment.GetEnvironmentVariable("ENGINE_PBT_RUNS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) && r > 0 ? r : null;
        double? minutes = double.TryParse(Environment.GetEnvironmentVariable("ENGINE_PBT_MINUTES"), NumberStyles.Float, CultureInfo.InvariantCulture, out double m) && m > 0 ? m : null;
        return new PbtBudget(runs, minutes, ParseSeed(Environment.GetEnvironmentVariable("ENGINE_PBT_SEED")));
    }

    public static (ulong, ulong, int?)? ParseSeed(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        string[] parts = text.Trim().Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length is < 2 or > 3)
        {
            throw new ArgumentException($"ENGINE_PBT_SEED must be SEED,GAMMA or SEED,GAMMA,SIZE as printed by a failure; got '{text}'");
        }
        ulong seed = ulong.Parse(parts[0], CultureInfo.InvariantCulture);
        ulong gamma = ulong.Parse(parts[1], CultureInfo.InvariantCulture);
        int? size = parts.Length == 3 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : null;
        return (seed, gamma, size);
    }
}

/// <summary>Runs a model property within the budget, printing seeds up front and a replay line on failure.</summary>
internal static partial class PbtRunner
{
    /// <param name="name">Test name (for the replay hint and the report).</param>
    /// <param name="machine">The state machine.</param>
    /// <param name="defaultRuns">Runs without ENGINE_PBT_RUNS.</param>
    /// <param name="runsShare">Share of ENGINE_PBT_RUNS this property runs (slower properties run fewer).</param>
    /// <param name="maxCommands">Longest command sequence (the end size) in the default run; long mode doubles it.</param>
    /// <param name="output">Test output.</param>
    public static void Run(string name, Machine<StoreHarness, StoreModel> machine, int defaultRuns, double runsShare, int maxCommands, ITestOutputHelper output)
    {
        var stats = new PbtStats();
        using IDisposable scope = PbtStats.Use(stats);
        PbtBudget budget = PbtBudget.FromEnvironment();
        int runs = budget.Runs is int r ? Math.Max(1, (int)(r * runsShare)) : defaultRuns;
        Property property = machine.ToProperty();
        var clock = Stopwatch.StartNew();

        if (budget.Replay is var (replaySeed, replayGamma, size))
        {
            Config replay = Config.QuickThrowOnFailure.WithQuietOnSuccess(true).WithEndSize(maxCommands)
                .WithMaxTest(size is null ? runs : 1);
            replay = size is int s ? replay.WithReplay(replaySeed, replayGamma, s) : replay.WithReplay(replaySeed, replayGamma);
            output.WriteLine($"{name}: replaying ENGINE_PBT_SEED={replaySeed},{replayGamma}{(size is int z ? "," + z.ToString(CultureInfo.InvariantCulture) : string.Empty)}");
            CheckOne(name, replay, property, replaySeed, replayGamma);
            return;
        }

        DateTime deadline = budget.Minutes is double minutes ? DateTime.UtcNow.AddMinutes(minutes) : DateTime.MinValue;
        int endSize = budget.Minutes is null ? maxCommands : maxCommands * 2;
        int batches = 0;
        do
        {
            ulong seed = (ulong)Random.Shared.NextInt64();
            ulong gamma = (ulong)Random.Shared.NextInt64() | 1;
            string line = $"{name}: batch {batches + 1}, {runs} runs of up to {endSize} commands, seed {seed},{gamma}";
            output.WriteLine(line);
            if (budget.Minutes is not null)
            {
                // Long mode: progress on disk as it happens (test output only appears at the end).
                File.AppendAllText(Path.Combine(ReportDirectory(), name + "-progress.log"), string.Create(CultureInfo.InvariantCulture,
                    $"{DateTime.UtcNow:O} {line}; so far {stats.Commands} commands, {stats.DistinctStates} distinct states{Environment.NewLine}"));
            }
            Config config = Config.QuickThrowOnFailure.WithQuietOnSuccess(true).WithMaxTest(runs).WithEndSize(endSize).WithReplay(seed, gamma);
            CheckOne(name, config, property, seed, gamma);
            batches++;
        }
        while (DateTime.UtcNow < deadline);

        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{name}: {batches} batch(es) of {runs} runs, {stats.Commands} commands in {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(summary);
        output.WriteLine(stats.Summary());
        if (budget.Minutes is not null)
        {
            output.WriteLine("report: " + WriteReport(name, summary + Environment.NewLine + stats.Summary()));
        }
    }

    private static void CheckOne(string name, Config config, Property property, ulong seed, ulong gamma)
    {
        try
        {
            Check.One(config, property);
        }
        catch (Exception ex) when (ex is not PbtFailureException)
        {
            Match step = ReplayStep().Match(ex.Message);
            string replay = step.Success ? step.Groups[1].Value.Replace(" ", string.Empty, StringComparison.Ordinal) : $"{seed},{gamma}";
            throw new PbtFailureException(
                $"{name} failed. Rerun this case alone with{Environment.NewLine}" +
                $"  ENGINE_PBT_SEED={replay} dotnet test Engine.Tests -c Release --filter \"FullyQualifiedName~{name}\"{Environment.NewLine}" +
                $"(the whole batch: ENGINE_PBT_SEED={seed},{gamma}). FsCheck's report, shrunk command sequence last:{Environment.NewLine}{ex.Message}", ex);
        }
    }

    /// <summary>Writes the long-mode summary to ENGINE_PBT_REPORT_DIR, else artifacts/pbt/ at the repository root (or the temp directory).</summary>
    private static string WriteReport(string name, string text)
    {
        string file = Path.Combine(ReportDirectory(), $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.txt");
        File.WriteAllText(file, text + Environment.NewLine);
        return file;
    }

    private static string ReportDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable("ENGINE_PBT_REPORT_DIR");
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Storage.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        string reports = string.IsNullOrEmpty(configured) ? Path.Combine(dir ?? Path.GetTempPath(), "artifacts", "pbt") : configured;
        Directory.CreateDirectory(reports);
        return reports;
    }

    [GeneratedRegex(@"Replay directly at failing step with \(([0-9, ]+)\)")]
    private static partial Regex ReplayStep();
}

/// <summary>A model property failed; the message has the replay command and the shrunk counterexample.</summary>
internal sealed class PbtFailureException : Exception
{
    public PbtFailureException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public PbtFailureException()
    {
    }

    public PbtFailureException(string message)
        : base(message)
    {
    }
}
