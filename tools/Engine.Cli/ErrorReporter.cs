namespace Engine.Cli;

/// <summary>
/// The one place that turns an exception into an exit code and a single <c>engine: message</c>
/// line on stderr. Operators read that line, scripts read the code; neither wants a stack trace.
/// </summary>
internal static class ErrorReporter
{
    /// <summary>Runs a command body, mapping whatever it throws to an exit code.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex)
        {
            (int code, string message) = Classify(ex);
            Fail(message);
            return code;
        }
    }

    /// <summary>Prints one error line; used directly for outcomes that are not exceptions (key not found).</summary>
    public static void Fail(string message) => Console.Error.WriteLine("engine: " + OneLine(message));

    /// <summary>Maps an exception to its exit code and the message to show. Order matters: subclasses first.</summary>
    public static (int Code, string Message) Classify(Exception ex) => ex switch
    {
        IntegrityException => (ExitCodes.Integrity, "integrity failure: " + ex.Message),
        KeyUnavailableException => (ExitCodes.KeyUnavailable, "key unavailable: " + ex.Message),
        StoreLockedException => (ExitCodes.KeyUnavailable, ex.Message),
        StoreInUseException => (ExitCodes.StoreInUse, "store in use: " + ex.Message),
        UsageException => (ExitCodes.Usage, ex.Message),
        ArgumentException arg => (ExitCodes.Usage, WithoutParameterSuffix(arg)),
        NotSupportedException => (ExitCodes.Usage, ex.Message),
        EngineException or IOException or UnauthorizedAccessException => (ExitCodes.IoError, ex.Message),
        // Anything else is a bug somewhere; still one line, with the type so it can be reported.
        _ => (ExitCodes.IoError, $"unexpected {ex.GetType().Name}: {ex.Message}"),
    };

    /// <summary>ArgumentException appends " (Parameter 'x')", which means nothing to a CLI user.</summary>
    private static string WithoutParameterSuffix(ArgumentException ex)
    {
        string message = ex.Message;
        string suffix = $" (Parameter '{ex.ParamName}')";
        return ex.ParamName is not null && message.EndsWith(suffix, StringComparison.Ordinal)
            ? message[..^suffix.Length]
            : message;
    }

    private static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}
