using System.Diagnostics;
using System.Globalization;

namespace Engine.Cli.Demo;

/// <summary>Prints the demo's step lines (✓ held, ✗ did not) and keeps the tally for the summary.</summary>
internal sealed class DemoReport
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public int Passed { get; private set; }

    public int Failed { get; private set; }

    public bool AllHeld => Failed == 0 && Passed > 0;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Records one check; <paramref name="detail"/> goes on an indented line below when given.</summary>
    public bool Check(bool held, string what, string? detail = null)
    {
        if (held)
        {
            Passed++;
        }
        else
        {
            Failed++;
        }
        Console.WriteLine($"{(held ? "✓" : "✗")} {what}");
        if (detail is not null)
        {
            Console.WriteLine($"    {detail.ReplaceLineEndings(" ")}");
        }
        return held;
    }

    /// <summary>Context that is not a check (where things are, what is about to happen).</summary>
    public static void Note(string text) => Console.WriteLine($"  {text}");

    public string Seconds => Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
