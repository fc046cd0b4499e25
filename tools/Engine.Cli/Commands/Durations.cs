using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Engine.Cli.Commands;

/// <summary>
/// Durations on the command line: a number and a unit, <c>500ms</c>, <c>1s</c>, <c>1.5s</c>,
/// <c>15m</c>, <c>2h</c>. The unit is required: a bare <c>30</c> could mean seconds or minutes,
/// and guessing wrong by a factor of 60 in a key-revocation bound is not a harmless mistake.
/// </summary>
internal static class Durations
{
    private static readonly (string Suffix, double Milliseconds)[] Units =
    [
        // "ms" before "s" and "m": the longest suffix must match first.
        ("ms", 1),
        ("s", 1000),
        ("m", 60_000),
        ("h", 3_600_000),
    ];

    /// <summary>Parses <paramref name="text"/>; returns false with a message naming the accepted forms.</summary>
    public static bool TryParse(string text, out TimeSpan value, out string? error)
    {
        value = TimeSpan.Zero;
        string trimmed = text.Trim();
        foreach ((string suffix, double ms) in Units)
        {
            if (!trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string number = trimmed[..^suffix.Length];
            if (number.Length > 0 && char.IsAsciiDigit(number[^1])
                && double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double amount)
                && amount * ms <= TimeSpan.MaxValue.TotalMilliseconds)
            {
                value = TimeSpan.FromMilliseconds(amount * ms);
                error = null;
                return true;
            }
            break;
        }
        error = $"'{text}' is not a duration: use a number and a unit, e.g. 500ms, 1s, 15m, 2h";
        return false;
    }

    /// <summary>Formats a duration the way it is parsed (for help text and messages).</summary>
    public static string Format(TimeSpan value) => value switch
    {
        { TotalHours: >= 1 } when value.TotalHours == Math.Floor(value.TotalHours) => $"{value.TotalHours:0}h",
        { TotalMinutes: >= 1 } when value.TotalMinutes == Math.Floor(value.TotalMinutes) => $"{value.TotalMinutes:0}m",
        { TotalSeconds: >= 1 } when value.TotalSeconds == Math.Floor(value.TotalSeconds) => $"{value.TotalSeconds:0}s",
        _ => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###}ms"),
    };

    /// <summary>
    /// An option holding a duration; null when not given (read it with <c>?? default</c>). No default
    /// value factory on purpose: help would show the default as <c>00:00:30</c>, so the description says it.
    /// </summary>
    public static Option<TimeSpan?> Option(string name, TimeSpan defaultValue, string description) => new(name)
    {
        Description = $"{description} [default: {Format(defaultValue)}]",
        HelpName = "DURATION",
        CustomParser = result => Parse(result),
    };

    private static TimeSpan? Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (TryParse(text, out TimeSpan value, out string? error))
        {
            return value;
        }
        result.AddError(error!);
        return null;
    }
}
