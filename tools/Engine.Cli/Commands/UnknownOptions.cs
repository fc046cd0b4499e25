using System.CommandLine;
using System.CommandLine.Parsing;

namespace Engine.Cli.Commands;

/// <summary>
/// System.CommandLine hands a token that looks like an option but matches none (<c>--bogus-opt</c>) to
/// the next free argument, so <c>put --ns a --bogus-opt k</c> would store a key named <c>--bogus-opt</c>.
/// The tool refuses such a token as a usage error instead; a key or value that really starts with '-'
/// goes after <c>--</c>, where every token is an argument.
/// </summary>
internal static class UnknownOptions
{
    /// <summary>The first argument token before <c>--</c> that starts with '-' (other than "-", standard input), or null.</summary>
    public static string? Find(ParseResult parse)
    {
        IReadOnlyList<Token> tokens = parse.Tokens;
        int doubleDash = -1;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }
        // Only command arguments: an option's own value may start with '-' (--prefix -x).
        for (SymbolResult? command = parse.CommandResult; command is not null; command = command.Parent)
        {
            foreach (ArgumentResult argument in (command as CommandResult)?.Children.OfType<ArgumentResult>() ?? [])
            {
                foreach (Token token in argument.Tokens)
                {
                    if (token.Value.Length > 1 && token.Value[0] == '-' && IsBefore(tokens, token, doubleDash))
                    {
                        return token.Value;
                    }
                }
            }
        }
        return null;
    }

    /// <summary>The verb as typed after <c>engine</c>, e.g. "keys rotate-ns"; empty for the root.</summary>
    public static string VerbPath(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? result = parse.CommandResult; result is CommandResult command && command.Command is not RootCommand; result = result.Parent)
        {
            names.Insert(0, command.Command.Name);
        }
        return string.Join(' ', names);
    }

    private static bool IsBefore(IReadOnlyList<Token> tokens, Token token, int doubleDash)
    {
        if (doubleDash < 0)
        {
            return true;
        }
        for (int i = 0; i < doubleDash; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return true;
            }
        }
        return false;
    }
}
