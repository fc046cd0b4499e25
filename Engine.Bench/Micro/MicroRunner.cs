using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Engine.Bench.Micro;

/// <summary>
/// BenchmarkDotNet entry: <c>micro [BDN args]</c>, e.g. <c>--filter '*Frame*'</c>. Benchmarks run in
/// process (<c>--inProcess</c>): a separate generated project would rebuild the engine and its native
/// plugin; in process measures the same code with the same JIT. Without <c>--job</c> the short job
/// is used (3 iterations): enough for the ratios reported here on a 2-core machine.
/// </summary>
internal static class MicroRunner
{
    public static int Run(string[] args)
    {
        var effective = new List<string>(args);
        if (!effective.Contains("--inProcess"))
        {
            effective.Add("--inProcess");
        }
        if (!effective.Contains("--job") && !effective.Contains("-j"))
        {
            effective.AddRange(["--job", "short"]);
        }
        if (!effective.Contains("--filter") && !effective.Contains("-f"))
        {
            effective.AddRange(["--filter", "*"]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(MicroRunner).Assembly)
            .Run([.. effective], DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary));
        return 0;
    }
}
