using System.Globalization;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Runs the cases of a campaign in child processes (<see cref="ChildProcess.StartInTests"/>) and turns a
/// child that dies or hangs in the middle of a case into a failed result for that case; the next child
/// goes on with the case after it.
/// </summary>
/// <remarks>
/// Protocol of a worker on stdout, one line each: <c>W &lt;dir&gt; TAB &lt;key file&gt;</c> (its scratch store,
/// kept for a post-mortem if it dies), <c>B &lt;i&gt; TAB &lt;description&gt;</c> before case i,
/// <c>R &lt;i&gt; TAB &lt;verdict&gt; TAB &lt;names-target 0|1&gt; TAB &lt;kind&gt; TAB &lt;group&gt; TAB &lt;description&gt; TAB &lt;detail&gt;</c>
/// after it, <c>E</c> at the end. Verdicts starting with <c>FAIL</c> are failures.
/// </remarks>
internal static class WorkerCampaign
{
    public sealed record Result(int Index, string Verdict, bool NamesTarget, string Kind, string Group, string Description, string Detail)
    {
        public bool Failed => Verdict.StartsWith("FAIL", StringComparison.Ordinal);
    }

    /// <summary>A worker's stdout writer: one write(2) per line, flushed.</summary>
    public sealed class Emitter : IDisposable
    {
        private readonly Stream _stdout = Console.OpenStandardOutput();

        public void Line(string line)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
            _stdout.Write(bytes);
            _stdout.Flush();
        }

        public void Scratch(string dir, string keyPath) => Line($"W {Clean(dir)}\t{Clean(keyPath)}");

        public void Begin(int index, string description) => Line(string.Create(CultureInfo.InvariantCulture, $"B {index}\t{Clean(description)}"));

        public void Result(int index, string verdict, bool namesTarget, string kind, string group, string description, string detail) =>
            Line(string.Join('\t', new[] { "R " + index.ToString(CultureInfo.InvariantCulture), verdict, namesTarget ? "1" : "0", kind, group, description, detail }.Select(Clean)));

        public void End() => Line("E");

        public void Dispose() => _stdout.Dispose();

        private static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
    }

    /// <summary>Runs cases [0, <paramref name="count"/>) of <paramref name="workerType"/>; returns every result.</summary>
    /// <param name="workerType">Type with <c>ChildMain(string[] { seed, first, end })</c>.</param>
    /// <param name="kindOfDescription">Kind and group of a case from its description (for a case that killed its worker).</param>
    public static List<Result> Run(Type workerType, int seed, int count, Func<string, (string Kind, string Group)> kindOfDescription, out int workers)
    {
        var results = new List<Result>();
        int next = 0;
        workers = 0;
        while (next < count)
        {
            workers++;
            if (workers > 50)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: more than 50 worker processes died; giving up. Last results:\n{string.Join("\n", results.TakeLast(5))}");
            }
            next = RunOne(workerType, seed, next, count, results, kindOfDescription);
        }
        return results;
    }

    private static int RunOne(Type workerType, int seed, int first, int end, List<Result> results, Func<string, (string Kind, string Group)> kindOf)
    {
        using ChildProcess child = ChildProcess.StartInTests(workerType,
            seed.ToString(CultureInfo.InvariantCulture), first.ToString(CultureInfo.InvariantCulture), end.ToString(CultureInfo.InvariantCulture));
        string? scratch = null;
        string? key = null;
        (int Index, string Description)? open = null;
        int next = first;
        while (true)
        {
            string? line = child.NextLine(TimeSpan.FromSeconds(120));
            if (line is null)
            {
                break; // the child ended, or sent nothing for two minutes
            }
            if (line.StartsWith("W ", StringComparison.Ordinal))
            {
                string[] parts = line[2..].Split('\t');
                (scratch, key) = (parts[0], parts[1]);
            }
            else if (line.StartsWith("B ", StringComparison.Ordinal))
            {
                string[] parts = line[2..].Split('\t', 2);
                open = (int.Parse(parts[0], CultureInfo.InvariantCulture), parts[1]);
            }
            else if (line.StartsWith("R ", StringComparison.Ordinal))
            {
                string[] f = line[2..].Split('\t');
                results.Add(new Result(int.Parse(f[0], CultureInfo.InvariantCulture), f[1], f[2] == "1", f[3], f[4], f[5], f[6]));
                next = results[^1].Index + 1;
                open = null;
            }
            else if (line == "E")
            {
                child.WaitForExit(TimeSpan.FromSeconds(60));
                return end;
            }
        }

        bool hung = !child.OutputEnded;
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
            throw new Xunit.Sdk.XunitException(
                $"seed {seed}: the {workerType.Name} ended outside a case (exit code {child.RawExitCode}, after case {next - 1}). stderr:\n{Tail(child.Stderr)}");
        }
        // The case in progress took the process down (or hung it): that is its verdict.
        string kept = scratch is not null && key is not null && Directory.Exists(scratch)
            ? CampaignLog.Preserve(scratch, key, $"{workerType.Name}-{seed}-{open.Value.Index}-crash")
            : "(not kept)";
        (string kind, string group) = kindOf(open.Value.Description);
        results.Add(new Result(open.Value.Index, hung ? "FAIL process hung" : "FAIL process crashed", false, kind, group, open.Value.Description,
            $"exit code {(child.HasExited ? child.RawExitCode.ToString(CultureInfo.InvariantCulture) : "?")}; stderr: {Tail(child.Stderr)} (scratch store kept at {kept})"));
        if (scratch is not null)
        {
            TryDeleteScratch(scratch);
        }
        return open.Value.Index + 1;
    }

    /// <summary>Deletes the dead worker's scratch directory (its parent, when that is a campaign root).</summary>
    private static void TryDeleteScratch(string scratch)
    {
        try
        {
            string? root = Path.GetDirectoryName(scratch);
            if (root is not null && Path.GetFileName(root).StartsWith("ekv-", StringComparison.Ordinal) && Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string Tail(string text) => text.Length <= 600 ? text.Trim() : "..." + text[^600..].Trim();

    /// <summary>A table of counts: rows by <paramref name="rowKey"/>, one column per verdict.</summary>
    public static string Table(string title, IEnumerable<Result> results, Func<Result, string> rowKey, string[] verdicts, Func<IGrouping<string, Result>, string>? extra = null, string extraTitle = "")
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{title,-28}");
        for (int v = 0; v < verdicts.Length; v++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{"[" + v + "]",6}");
        }
        sb.AppendLine("  total" + (extra is null ? string.Empty : "  " + extraTitle));
        foreach (IGrouping<string, Result> g in results.GroupBy(rowKey).OrderBy(g => g.Min(r => r.Index)))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{g.Key,-28}");
            foreach (string v in verdicts)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{g.Count(r => r.Verdict == v),6}");
            }
            sb.Append(CultureInfo.InvariantCulture, $"  {g.Count(),5}");
            sb.AppendLine(extra is null ? string.Empty : "  " + extra(g));
        }
        return sb.ToString();
    }

    /// <summary>Failed results, at most <paramref name="perVerdict"/> of each verdict, one line each.</summary>
    public static string Failures(List<Result> failed, int perVerdict) =>
        string.Join("\n", failed.GroupBy(r => r.Verdict).SelectMany(g => g.Take(perVerdict)).OrderBy(r => r.Index)
            .Select(r => $"#{r.Index} {r.Description}: {r.Verdict}: {r.Detail}"));

    /// <summary>The verdict legend: passing verdicts first.</summary>
    public static string[] Verdicts(IEnumerable<Result> results) =>
        [.. results.Select(r => r.Verdict).Distinct().OrderBy(v => v.StartsWith("FAIL", StringComparison.Ordinal)).ThenBy(v => v, StringComparer.Ordinal)];
}
