using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Engine.Cli.Output;

/// <summary>
/// Progress of a long verb (import, compact, verify, keys rotate-data) on stderr, so that stdout stays
/// data: a Spectre.Console bar when stderr is a terminal; otherwise (a log file, a pipe, CI) a first
/// line, then one line a second while the work runs, then a last line with the time taken.
/// </summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Runs <paramref name="work"/> on this thread while showing what it reports through its <see cref="ProgressSink"/>.</summary>
    /// <param name="label">Names the work on every line (the verb, e.g. "compact").</param>
    /// <param name="work">The work; it reports through the sink from any thread.</param>
    public static T Run<T>(string label, Func<ProgressSink, T> work)
    {
        var sink = new ProgressSink();
        return Console.IsErrorRedirected ? RunLines(label, sink, work) : RunBar(label, sink, work);
    }

    private static T RunBar<T>(string label, ProgressSink sink, Func<ProgressSink, T> work)
    {
        // Spectre judges interactivity from stdout, which is often redirected (data to a file) while
        // stderr is the terminal; the caller already checked stderr.
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Interactive = InteractionSupport.Yes,
            Ansi = AnsiSupport.Detect,
        });
        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask(Markup.Escape(label), maxValue: 1.0);
                task.IsIndeterminate = true;
                sink.Changed = (detail, fraction) =>
                {
                    task.Description = Markup.Escape(detail.Length == 0 ? label : $"{label}: {detail}");
                    task.IsIndeterminate = fraction is null;
                    task.Value = fraction ?? 0;
                };
                try
                {
                    return work(sink);
                }
                finally
                {
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            });
    }

    private static T RunLines<T>(string label, ProgressSink sink, Func<ProgressSink, T> work)
    {
        var clock = Stopwatch.StartNew();
        void Line(string state) =>
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {clock.Elapsed.TotalSeconds,6:0.0}s {state}"));

        Line("started");
        using var done = new ManualResetEventSlim();
        var ticker = new Thread(() =>
        {
            while (!done.Wait(Interval))
            {
                Line(sink.Describe());
            }
        })
        { IsBackground = true, Name = label + " progress" };
        ticker.Start();
        bool finished = false;
        try
        {
            T result = work(sink);
            finished = true;
            return result;
        }
        finally
        {
            done.Set();
            ticker.Join();
            Line(finished ? "done" : "failed");
        }
    }
}

/// <summary>What a long verb reports: a detail line and, when known, the fraction done (0 to 1).</summary>
internal sealed class ProgressSink
{
    private readonly Lock _gate = new();
    private string _detail = string.Empty;
    private double? _fraction;

    /// <summary>The bar's update, when a bar is shown.</summary>
    internal Action<string, double?>? Changed { get; set; }

    /// <summary>Records the latest state; the display shows it at its next refresh.</summary>
    public void Report(string detail, double? fraction = null)
    {
        lock (_gate)
        {
            _detail = detail;
            _fraction = fraction is double f ? Math.Clamp(f, 0, 1) : null;
        }
        Changed?.Invoke(detail, fraction is double g ? Math.Clamp(g, 0, 1) : null);
    }

    /// <summary>The latest state as one line: the detail and the percentage when known, or "running".</summary>
    internal string Describe()
    {
        lock (_gate)
        {
            string percent = _fraction is double f ? (f * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : string.Empty;
            string text = string.Join(" ", new[] { percent, _detail }.Where(s => s.Length > 0));
            return text.Length == 0 ? "running" : text;
        }
    }
}
