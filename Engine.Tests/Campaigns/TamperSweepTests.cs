using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Engine.Tests.Campaigns;

/// <summary>
/// The exhaustive half of the tamper campaign (issue 12, item 1): every log-like file of a cleanly closed
/// store (WAL, MANIFEST, CURRENT, IDENTITY, OPTIONS, the live-log record, the info LOGs) is cut at every
/// frame boundary and to its header, one cut at a time, and the store opened and read completely. After a
/// clean close each cut that removes content of a file the store reads must be an
/// <see cref="IntegrityException"/>. Two kinds of cut lose nothing and are counted apart: the info LOGs,
/// which RocksDB only writes (nothing is read from them), and a cut that removes only the trailing empty
/// frame a sync leaves (no byte of the file's content goes; the live-log record checks logical sizes, which
/// are unchanged). The crash case (the unsynced tail of the live WAL after a kill -9, which no record can
/// cover) is not in this sweep: docs/format.md, "Live log record", says what it leaves.
/// </summary>
public sealed class TamperSweepTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_cut_of_every_log_like_file_of_a_closed_store_is_an_integrity_error()
    {
        var clock = Stopwatch.StartNew();
        // The worker ends after the last cut; the bound only caps a runaway.
        List<WorkerCampaign.Result> results = WorkerCampaign.Run(typeof(TamperSweepWorker), 0, 100_000, KindAndRole, out int workers);

        string[] verdicts = WorkerCampaign.Verdicts(results);
        var sb = new StringBuilder();
        int integrity = results.Count(r => r.Verdict == TamperWorker.Detected);
        int infoLog = results.Count(r => r.Verdict == TamperWorker.InertInfoLog);
        int emptyOnly = results.Count(r => r.Verdict == TamperWorker.InertEmptyFrames);
        int content = results.Count - infoLog - emptyOnly;
        sb.AppendLine(CultureInfo.InvariantCulture, $"cut sweep: {results.Count} cuts; {content} remove content of a file the store reads: {integrity} integrity errors; {emptyOnly} remove only a trailing empty sync frame, {infoLog} cut an info LOG (never read); {clock.Elapsed.TotalSeconds:F1} s ({workers} worker process(es))");
        sb.AppendLine("verdicts:");
        for (int v = 0; v < verdicts.Length; v++)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  [{v}] {verdicts[v]}: {results.Count(r => r.Verdict == verdicts[v])}");
        }
        sb.Append(WorkerCampaign.Table("file role", results, r => r.Group, verdicts,
            g => string.Create(CultureInfo.InvariantCulture, $"{g.Count(r => r.NamesTarget && r.Verdict == TamperWorker.Detected)} of {g.Count(r => r.Verdict == TamperWorker.Detected)}"),
            "integrity errors naming the cut file"));
        string table = sb.ToString();
        output.WriteLine(table);
        CampaignLog.Write("tamper-sweep", table + WorkerCampaign.Failures([.. results.Where(r => r.Failed)], int.MaxValue));

        Assert.Equal(Enumerable.Range(0, results.Count), results.Select(r => r.Index));
        Assert.True(results.Count >= 50, $"the sweep found only {results.Count} cuts; the tamper store should have far more frame boundaries\n{table}");
        // Every role the store reads is present (a sweep that silently lost a file kind proves nothing).
        foreach (string role in new[] { nameof(FileRole.Wal), nameof(FileRole.Manifest), nameof(FileRole.Current), nameof(FileRole.Identity), nameof(FileRole.Options), nameof(FileRole.LiveLogRecord) })
        {
            Assert.True(results.Any(r => r.Group == role), $"no cut of a {role} file\n{table}");
        }
        List<WorkerCampaign.Result> wrong = [.. results.Where(r => r.Group is nameof(FileRole.Log) or nameof(FileRole.OldLog)
            ? r.Verdict != TamperWorker.InertInfoLog && r.Verdict != TamperWorker.Detected
            : r.Verdict != TamperWorker.Detected && r.Verdict != TamperWorker.InertEmptyFrames)];
        Assert.True(wrong.Count == 0,
            $"{wrong.Count} of {results.Count} cuts were not integrity errors (up to 6 shown per verdict):\n{WorkerCampaign.Failures(wrong, 6)}\n{table}");
    }

    private static (string Kind, string Group) KindAndRole(string description)
    {
        int open = description.IndexOf(" (", StringComparison.Ordinal);
        int close = description.IndexOf("):", StringComparison.Ordinal);
        return (description.Split(' ', 2)[0], open >= 0 && close > open ? description[(open + 2)..close] : "?");
    }
}
