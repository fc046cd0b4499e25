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

    /// <summary>
    /// <c>--json</c> on every verb that prints data: JSON Lines on stdout (one object per line, fields listed
    /// on the verb's help page); stored bytes as in <see cref="Output.JsonLines"/>.
    /// </summary>
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print JSON Lines (one object per line) instead of text",
    };

    /// <summary>
    /// The exit codes, printed at the end of every verb's help page (<see cref="HelpNotes"/>); a verb whose
    /// own note already lists its codes (kms, workload, import) keeps that list instead.
    /// </summary>
    public const string ExitCodeHelp = """
        Exit codes:
          0  done
          1  get: the key is absent; kms verbs: no such key or alias
          2  bad usage or input: unknown option, invalid argument, not a store, unknown namespace
          3  integrity failure: stored data failed authentication
          4  a key is unavailable (CMEK revoked or unreachable, or no credentials for it) or the store is locked
          5  any other engine or I/O error
          6  demo: one of its checks did not hold
          7  the store is in use: another process (or store instance) holds its lock; nothing was changed
        Errors are one line on stderr: engine: <message>
        """;

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
