using Engine.Tests.Model;

/// <summary>
/// Entry point of the crash child (see <see cref="CrashChild"/>). The runtime calls
/// <see cref="Initialize"/> only in a process started with <c>DOTNET_STARTUP_HOOKS</c> naming this
/// assembly; the test host never does. The runtime requires this exact name in the global namespace.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        string? script = Environment.GetEnvironmentVariable(CrashChild.ScriptVariable);
        if (!string.IsNullOrEmpty(script))
        {
            Environment.Exit(CrashChild.RunChild(script));
        }
    }
}
