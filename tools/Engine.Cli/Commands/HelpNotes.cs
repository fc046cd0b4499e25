using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace Engine.Cli.Commands;

/// <summary>
/// A closing section ("output", then the exit codes, <see cref="CliOptions.ExitCodeHelp"/> unless the
/// note lists its own) on a verb's own <c>--help</c> page. The description
/// would be the place otherwise, but System.CommandLine also prints it in the parent's command list,
/// where a paragraph per verb drowns the list.
/// </summary>
internal static class HelpNotes
{
    private static readonly ConditionalWeakTable<Command, string> Notes = [];

    /// <summary>Attaches <paramref name="note"/> (pre-wrapped lines) to <paramref name="command"/>'s help page.</summary>
    public static T WithHelpNote<T>(this T command, string note)
        where T : Command
    {
        Notes.AddOrUpdate(command, note);
        return command;
    }

    /// <summary>Makes the root's help option print the notes; call once, after building the command tree.</summary>
    public static void Install(RootCommand root)
    {
        if (root.Options.OfType<HelpOption>().FirstOrDefault() is { Action: HelpAction standard } help)
        {
            help.Action = new HelpWithNotes(standard);
        }
    }

    /// <summary>The standard help, then the note of the command it was asked for, after a blank line.</summary>
    private sealed class HelpWithNotes(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = standard.Invoke(parseResult);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            string note = Notes.TryGetValue(parseResult.CommandResult.Command, out string? own) ? own : string.Empty;
            if (note.Length > 0)
            {
                Print(output, note);
            }
            // Every page says what the exit codes mean; a verb with codes of its own lists them in its note.
            if (!note.Contains("Exit codes:", StringComparison.Ordinal))
            {
                Print(output, CliOptions.ExitCodeHelp);
            }
            return code;
        }

        private static void Print(TextWriter output, string text)
        {
            foreach (string line in text.TrimEnd().Split('\n'))
            {
                output.WriteLine(line.TrimEnd());
            }
            output.WriteLine();
        }
    }
}
