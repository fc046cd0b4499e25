using System.CommandLine;
using Engine.Cli.Demo;

namespace Engine.Cli.Commands;

/// <summary><c>engine demo</c>: the end-to-end tour (see <see cref="DemoRunner"/>).</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir")
        {
            Description = "Empty or new directory to work in (default: a fresh temp directory, removed on success)",
            HelpName = "DIR",
        };
        var keep = new Option<bool>("--keep") { Description = "Keep the temp directory even when the demo passes" };
        var command = new Command("demo", "Show encryption at rest, tamper detection and key separation end to end") { dir, keep };
        command.SetBody(parse => DemoRunner.Run(parse.GetValue(dir), parse.GetValue(keep)));
        return command;
    }
}
