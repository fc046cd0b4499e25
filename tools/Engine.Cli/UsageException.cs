namespace Engine.Cli;

/// <summary>The command line asks for something that cannot be done as written (exit code 2).</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
        : base("bad usage")
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
