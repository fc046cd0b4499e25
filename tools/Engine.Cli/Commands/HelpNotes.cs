using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace Engine.Cli.Commands;

/// <summary>
/// A closing section ("exit codes", "output") on a verb's own <c>--help</c> page. The description
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
            if (Notes.TryGetValue(parseResult.CommandResult.Command, out string? note))
            {
                TextWriter output = parseResult.InvocationConfiguration.Output;
                foreach (string line in note.Split('\n'))
                {
                    output.WriteLine(line.TrimEnd());
                }
                output.WriteLine();
            }
            return code;
        }
    }
}
