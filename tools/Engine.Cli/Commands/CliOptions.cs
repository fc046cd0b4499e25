using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary>Options shared by several verbs, so that they are spelled and described the same everywhere.</summary>
internal static class CliOptions
{
    public static Option<string> Store() => new("--store")
    {
        Description = "Store directory",
        Required = true,
        HelpName = "DIR",
    };

    /// <summary>Optional on existing stores: they remember their CMEK URI, this overrides it.</summary>
    public static Option<string?> CmekOverride() => new("--cmek")
    {
        Description = "CMEK URI overriding the one the store recorded, e.g. file:/path/to/key",
        HelpName = "URI",
    };

    public static Option<string> Namespace() => new("--ns")
    {
        Description = "Namespace",
        Required = true,
        HelpName = "NS",
    };

    /// <summary>For read verbs: open without the write lock and write nothing (works on a read-only mount).</summary>
    public static Option<bool> ReadOnly() => new("--read-only")
    {
        Description = "Open the store read-only: no write lock, nothing written (works on a read-only directory or mount)",
    };

    /// <summary>The open options of a verb with <see cref="ReadOnly"/>.</summary>
    public static Action<StoreOptions> ReadOnlyIf(ParseResult parse, Option<bool> readOnly) => o => o.ReadOnly = parse.GetValue(readOnly);

    /// <summary>Wires a command body through <see cref="ErrorReporter"/> so every failure ends as one line and an exit code.</summary>
    public static void SetBody(this Command command, Func<ParseResult, int> body) =>
        command.SetAction(parse => ErrorReporter.Run(() => body(parse)));
}
