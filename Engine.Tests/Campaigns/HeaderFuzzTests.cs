using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Header fuzzer: FsCheck-generated files (valid headers with random field edits, with and without a
/// recomputed checksum and with or without their frames; random bytes; real files cut to 0..2048 bytes)
/// are written next to real store files and read through the plugin. The process must never crash and
/// every case must end in a clear error naming the file, or read back exactly the original plaintext
/// (or a prefix of it, for a log-like file cut at a frame end). Runs in a child process, so a crash is
/// reported with its case instead of ending the test run.
/// </summary>
/// <remarks><c>ENGINE_FUZZ_CASES=N</c> (default 2000), <c>ENGINE_FUZZ_SEED=S</c> to replay.</remarks>
public sealed class HeaderFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Fuzzed_headers_and_files_never_crash_and_always_give_a_clear_error_or_the_original_bytes()
    {
        int count = CampaignSettings.Count("ENGINE_FUZZ_CASES", 2000);
        int seed = CampaignSettings.Seed("ENGINE_FUZZ_SEED");
        output.WriteLine($"header fuzzer: seed {seed} (replay with ENGINE_FUZZ_SEED={seed}), {count} cases");
        var clock = Stopwatch.StartNew();
        List<WorkerCampaign.Result> results = WorkerCampaign.Run(typeof(HeaderFuzzWorker), seed, count,
            d => (d.Split(':', 2)[0], d.Contains(" as ", StringComparison.Ordinal) ? Path.GetExtension(d) : "?"), out int workers);

        string[] verdicts = WorkerCampaign.Verdicts(results);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"header fuzzer seed {seed}: {results.Count} cases in {clock.Elapsed.TotalSeconds:F1} s ({workers} worker process(es))");
        for (int v = 0; v < verdicts.Length; v++)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  [{v}] {verdicts[v]}: {results.Count(r => r.Verdict == verdicts[v])}");
        }
        sb.Append(WorkerCampaign.Table("case kind", results, r => r.Kind, verdicts));
        sb.Append(WorkerCampaign.Table("written as", results, r => r.Group, verdicts));
        string table = sb.ToString();
        output.WriteLine(table);
        CampaignLog.Write("header-fuzz", table + WorkerCampaign.Failures([.. results.Where(r => r.Failed)], int.MaxValue));

        List<WorkerCampaign.Result> failed = [.. results.Where(r => r.Failed)];
        Assert.True(failed.Count == 0,
            $"seed {seed}: {failed.Count} of {results.Count} cases failed (up to 6 shown per verdict):\n{WorkerCampaign.Failures(failed, 6)}\n{table}");
        Assert.Equal(count, results.Count);
        // The generator must reach the interesting paths, not only the first gate (checksum/magic).
        Assert.True(results.Any(r => r.Verdict == HeaderFuzzWorker.ReadsOriginal), "no case kept a valid header: the generator is too blunt");
    }
}
