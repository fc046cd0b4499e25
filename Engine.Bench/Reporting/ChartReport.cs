using ScottPlot;

namespace Engine.Bench.Reporting;

/// <summary>
/// chart.png: grouped bars of ratio_to_plain per workload (one colour per system), a dashed line at
/// 1.0 (plain RocksDB) and the value printed on every bar, since a ratio of 0.93 and one of 0.97
/// look alike as bars.
/// </summary>
internal static class ChartReport
{
    private static readonly (string Name, Color Color)[] Palette =
    [
        ("stock-ctr", Color.FromHex("#d95f02")),
        ("engine", Color.FromHex("#1b9e77")),
        ("engine-env", Color.FromHex("#66a61e")),
        ("litedb", Color.FromHex("#7570b3")),
    ];

    public static void Write(RunReport report, string path)
    {
        var plot = new Plot();
        var series = Palette.Where(p => report.Workloads.Any(w => w.Systems.Any(s => s.Name == p.Name))).ToArray();
        double groupWidth = 0.8;
        double barWidth = groupWidth / Math.Max(1, series.Length);
        double top = 1.2;
        var bars = new List<Bar>();
        for (int wi = 0; wi < report.Workloads.Count; wi++)
        {
            WorkloadResult w = report.Workloads[wi];
            for (int si = 0; si < series.Length; si++)
            {
                SystemResult? s = w.Systems.FirstOrDefault(x => x.Name == series[si].Name);
                // LiteDB's "flush-compact" is a checkpoint, not a compaction: not comparable, kept to the table.
                if (s?.RatioToPlain is not double ratio || (s.Name == "litedb" && w.Name == "flush-compact"))
                {
                    continue;
                }
                top = Math.Max(top, ratio * 1.12);
                bars.Add(new Bar
                {
                    Position = wi - groupWidth / 2 + barWidth * (si + 0.5),
                    Value = ratio,
                    Size = barWidth * 0.92,
                    FillColor = series[si].Color,
                    LineWidth = 0,
                    Label = ratio.ToString(ratio < 0.1 ? "F3" : "F2", System.Globalization.CultureInfo.InvariantCulture),
                });
            }
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        barPlot.ValueLabelStyle.Bold = true;

        plot.Add.HorizontalLine(1.0, 2, Colors.Black, LinePattern.Dashed);

        foreach ((string name, Color color) in series)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = color });
        }
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "plain RocksDB = 1.0", LineColor = Colors.Black, LineWidth = 2, LinePattern = LinePattern.Dashed });
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.Legend.FontSize = 16;

        double[] ticks = [.. Enumerable.Range(0, report.Workloads.Count).Select(i => (double)i)];
        // Two-line tick labels ("readrandom" over "warm") fit under a group without rotation.
        string[] labels = [.. report.Workloads.Select(w => TwoLines(w.Name))];
        plot.Axes.Bottom.SetTicks(ticks, labels);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 15;
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Left.TickLabelStyle.FontSize = 15;
        plot.Axes.SetLimits(-0.6, report.Workloads.Count - 0.4, 0, top + 0.3);
        plot.Grid.XAxisStyle.MajorLineStyle.Width = 0;

        MachineInfo m = report.Machine;
        string entries = long.TryParse(report.Settings.GetValueOrDefault("num"), out long n) ? n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "?";
        string spread = report.Settings.GetValueOrDefault("namespaces") is string ns && ns != "1" ? $" in {ns} namespaces" : "";
        plot.Title($"Throughput relative to plain RocksDB (higher is better), {entries} entries x {report.Settings.GetValueOrDefault("value_size")} B values{spread}", 20);
        plot.YLabel("ops/s ÷ plain ops/s (median of paired rounds)", 16);
        plot.XLabel($"{m.Nproc} cores {m.CpuModel}, {m.LibRocksDb}, {report.StartedUtc:yyyy-MM-dd}", 14);
        plot.SavePng(path, 1600, 900);
    }

    private static string TwoLines(string name)
    {
        int dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? name : name[..dash] + "\n" + name[(dash + 1)..];
    }
}
