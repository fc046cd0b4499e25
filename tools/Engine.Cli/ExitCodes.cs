namespace Engine.Cli;

/// <summary>Process exit codes of the <c>engine</c> tool; scripts depend on them, so never renumber.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary><c>get</c>: the key is absent.</summary>
    public const int NotFound = 1;

    /// <summary>Bad usage or input: unknown option, invalid argument, not a store, unknown namespace.</summary>
    public const int Usage = 2;

    /// <summary>Stored data failed authentication (<see cref="IntegrityException"/>).</summary>
    public const int Integrity = 3;

    /// <summary>The CMEK or another key is unavailable, or the store is locked.</summary>
    public const int KeyUnavailable = 4;

    /// <summary>Any other engine or I/O error.</summary>
    public const int IoError = 5;

    /// <summary><c>demo</c>: at least one of its checks did not hold.</summary>
    public const int DemoFailed = 6;
}
