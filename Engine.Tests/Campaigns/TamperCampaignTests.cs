using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Tamper campaign: mutations of every file type of a real, closed store (byte flips in headers and
/// frames, frame swaps and duplicates, truncated SSTs, frames and headers spliced from files of the same
/// and of another namespace, an older header replayed, bytes appended). After each one the store is
/// opened and everything is read (Get of every key, Scan of every namespace, Verify). Each mutation must
/// be reported as <see cref="IntegrityException"/> or be shown, by a precise rule, to touch nothing live
/// (<see cref="TamperWorker"/> has the rules); wrong data is always a failure, and so is a crash.
/// </summary>
/// <remarks>
/// The mutations run in a child process (<see cref="TamperWorker"/>): a native abort on tampered input
/// fails that mutation and the campaign goes on in a fresh child. <c>ENGINE_TAMPER_MUTATIONS=N</c>
/// (default 500), <c>ENGINE_TAMPER_SEED=S</c> replays the choice of mutations (the store's random file
/// ids and nonces differ per run; its layout does not).
/// </remarks>
public sealed class TamperCampaignTests(ITestOutputHelper output)
{
    private sealed record Result(int Index, string Kind, string Role, string Verdict, bool NamesTarget, string Description, string Detail)
    {
        public bool Failed => Verdict.StartsWith("FAIL", StringComparison.Ordinal);
    }

    [Fact]
    public void Every_mutation_is_detected_or_provably_inert_and_never_yields_wrong_data()
    {
        int mutations = CampaignSettings.Count("ENGINE_TAMPER_MUTATIONS", 500);
        int seed = CampaignSettings.Seed("ENGINE_TAMPER_SEED");
        output.WriteLine($"tamper campaign: seed {seed} (replay with ENGINE_TAMPER_SEED={seed}), {mutations} mutations");
        var clock = Stopwatch.StartNew();
        var results = new List<Result>();
        int next = 0;
        int workers = 0;
        while (next < mutations)
        {
            workers++;
            Assert.True(workers <= 50, $"seed {seed}: more than 50 worker processes died; giving up. Last results:\n{string.Join("\n", results.TakeLast(5))}");
            next = RunWorker(seed, next, mutations, results);
        }

        string table = Summary(seed, results, clock.Elapsed, workers);
        output.WriteLine(table);
        CampaignLog.Write("tamper", table);
        List<Result> failed = [.. results.Where(r => r.Failed)];
        Assert.True(failed.Count == 0,
            $"seed {seed}: {failed.Count} of {results.Count} mutations failed:\n{string.Join("\n", failed.Take(30).Select(r => $"#{r.Index} {r.Description}: {r.Verdict}: {r.Detail}"))}\n{table}");
        Assert.Equal(mutations, results.Count);
    }

    /// <summary>Runs mutations [<paramref name="first"/>, <paramref name="end"/>) in one child; returns where the next child must start.</summary>
    private static int RunWorker(int seed, int first, int end, List<Result> results)
    {
        using CrashWriterChild child = CrashWriterChild.StartWorker(typeof(TamperWorker),
            seed.ToString(CultureInfo.InvariantCulture), first.ToString(CultureInfo.InvariantCulture), end.ToString(CultureInfo.InvariantCulture));
        string? work = null;
        string? key = null;
        (int Index, string Description)? open = null;
        int next = first;
        while (true)
        {
            string? line = child.NextLine(TimeSpan.FromSeconds(120));
            if (line is null)
            {
                break; // the child ended (or hung: killed below)
            }
            if (line.StartsWith("W ", StringComparison.Ordinal))
            {
                string[] parts = line[2..].Split('\t');
                (work, key) = (parts[0], parts[1]);
            }
            else if (line.StartsWith("B ", StringComparison.Ordinal))
            {
                string[] parts = line[2..].Split('\t', 2);
                open = (int.Parse(parts[0], CultureInfo.InvariantCulture), parts[1]);
            }
            else if (line.StartsWith("R ", StringComparison.Ordinal))
            {
                string[] f = line[2..].Split('\t');
                results.Add(new Result(int.Parse(f[0], CultureInfo.InvariantCulture), f[1], f[2], f[3], f[4] == "1", f[5], f[6]));
                next = results[^1].Index + 1;
                open = null;
            }
            else if (line == "E")
            {
                child.WaitForExit(TimeSpan.FromSeconds(60));
                return end;
            }
        }

        bool hung = !child.OutputEnded; // no line for two minutes, stdout still open
        if (hung)
        {
            child.Kill();
        }
        else
        {
            child.WaitForExit(TimeSpan.FromSeconds(60));
        }
        if (open is null)
        {
            Assert.Fail($"seed {seed}: the tamper worker ended outside a mutation (exit code {child.RawExitCode}, after mutation {next - 1}). stderr:\n{Tail(child.Stderr)}");
        }
        // The mutation in progress took the process down (or hung it): that is its verdict.
        string kept = work is not null && key is not null && Directory.Exists(work)
            ? CampaignLog.Preserve(work, key, $"tamper-{seed}-{open.Value.Index}-crash")
            : "(not kept)";
        string verdict = hung ? "FAIL process hung" : "FAIL process crashed";
        string detail = $"exit code {child.RawExitCode}; stderr: {Tail(child.Stderr)} (store kept at {kept})";
        results.Add(new Result(open.Value.Index, KindOf(open.Value.Description), RoleOf(open.Value.Description), verdict, false, open.Value.Description, detail));
        if (work is not null)
        {
            TryDelete(Path.GetDirectoryName(work)!); // the dead worker's fixture
        }
        return open.Value.Index + 1;
    }

    private static string KindOf(string description) => description.Split(' ', 2)[0];

    private static string RoleOf(string description)
    {
        int open = description.IndexOf(" (", StringComparison.Ordinal);
        int close = description.IndexOf("):", StringComparison.Ordinal);
        return open >= 0 && close > open ? description[(open + 2)..close] : "?";
    }

    private static string Tail(string text) => text.Length <= 600 ? text.Trim() : "..." + text[^600..].Trim();

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir) && Path.GetFileName(dir).StartsWith("ekv-tamper-", StringComparison.Ordinal))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string Summary(int seed, List<Result> results, TimeSpan elapsed, int workers)
    {
        string[] verdicts = [.. results.Select(r => r.Verdict).Distinct().OrderBy(v => v.StartsWith("FAIL", StringComparison.Ordinal)).ThenBy(v => v, StringComparer.Ordinal)];
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"tamper campaign seed {seed}: {results.Count} mutations in {elapsed.TotalSeconds:F1} s ({workers} worker process(es))");
        sb.AppendLine("verdicts:");
        for (int v = 0; v < verdicts.Length; v++)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  [{v}] {verdicts[v]}: {results.Count(r => r.Verdict == verdicts[v])}");
        }
        void Table(string title, IEnumerable<IGrouping<string, Result>> groups, bool naming)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{title,-28}");
            for (int v = 0; v < verdicts.Length; v++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{"[" + v + "]",6}");
            }
            sb.AppendLine(naming ? "  total  integrity errors naming the mutated file" : "  total");
            foreach (IGrouping<string, Result> g in groups)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{g.Key,-28}");
                foreach (string v in verdicts)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{g.Count(r => r.Verdict == v),6}");
                }
                sb.Append(CultureInfo.InvariantCulture, $"  {g.Count(),5}");
                sb.AppendLine(naming ? string.Create(CultureInfo.InvariantCulture, $"  {g.Count(r => r.NamesTarget)} of {g.Count(r => r.Verdict == TamperWorker.Detected)}") : string.Empty);
            }
        }
        Table("mutation kind", results.GroupBy(r => r.Kind).OrderBy(g => Enum.TryParse(g.Key, out MutationKind k) ? (int)k : 99), naming: true);
        Table("file role", results.GroupBy(r => r.Role).OrderBy(g => Enum.TryParse(g.Key, out FileRole k) ? (int)k : 99), naming: false);
        return sb.ToString();
    }
}
