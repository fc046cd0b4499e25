using Engine.Tests.Support;

/// <summary>
/// Entry point of a child process started by <see cref="ChildProcess.StartInTests"/>. The runtime calls
/// <see cref="Initialize"/> only in a process started with <c>DOTNET_STARTUP_HOOKS</c> naming this
/// assembly; the test host never is. The runtime requires this exact name in the global namespace.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (ChildProcess.RunEntryOfThisProcess() is int exitCode)
        {
            Environment.Exit(exitCode);
        }
    }
}
