namespace Engine.Cli;

/// <summary>Process exit codes of the <c>engine</c> tool; scripts depend on them, so never renumber.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary><c>get</c>: the key is absent. <c>kms</c> verbs: no such KMS key.</summary>
    public const int NotFound = 1;

    /// <summary>Bad usage or input: unknown option, invalid argument, not a store, unknown namespace.</summary>
    public const int Usage = 2;

    /// <summary>
    /// Stored data failed authentication (<see cref="IntegrityException"/>). <c>workload</c>: a key read
    /// back a value that was never written to it (wrong data).
    /// </summary>
    public const int Integrity = 3;

    /// <summary>
    /// The CMEK or another key is unavailable (revoked, unreachable, or no credentials to reach it: a
    /// configuration error, e.g. <c>aws-kms:</c> without AWS credentials; <c>init</c> then leaves nothing
    /// behind), or the store is locked. <c>workload</c>: the store was
    /// still locked when the load ended and did not unlock in time, so nothing could be verified.
    /// </summary>
    public const int KeyUnavailable = 4;

    /// <summary>Any other engine or I/O error.</summary>
    public const int IoError = 5;

    /// <summary><c>demo</c>: at least one of its checks did not hold.</summary>
    public const int DemoFailed = 6;

    /// <summary>
    /// <c>workload</c>: an acknowledged write is missing (the key is absent or holds an older value).
    /// Same number as <see cref="DemoFailed"/>: both mean "the verb's own check did not hold".
    /// </summary>
    public const int WorkloadLostWrites = 6;

    /// <summary>
    /// The store is open in another process (or another instance in this one) and its lock is held
    /// (<see cref="StoreInUseException"/>); nothing in the store was changed. Retry after it closes.
    /// </summary>
    public const int StoreInUse = 7;
}
