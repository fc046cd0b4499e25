using BenchmarkDotNet.Running;

namespace Engine.Bench.Micro;

/// <summary>BenchmarkDotNet entry: <c>micro [BDN args]</c>, e.g. <c>--filter '*Frame*'</c>.</summary>
internal static class MicroRunner
{
    public static int Run(string[] args)
    {
        BenchmarkSwitcher.FromAssembly(typeof(MicroRunner).Assembly).Run(args);
        return 0;
    }
}
