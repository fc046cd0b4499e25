namespace Engine;

/// <summary>
/// A key needed for the operation cannot be obtained: the CMEK is missing, wrong, unreadable or
/// revoked, the namespace was deleted (its key crypto-shredded), the key version was retired,
/// or the key service has been closed. The stored data is not known to be damaged; it is
/// unreadable until the right key is available.
/// </summary>
public sealed class KeyUnavailableException : EngineException
{
    /// <summary>Creates a key-unavailable error.</summary>
    /// <param name="message">Which key is unavailable and why (never the key itself).</param>
    /// <param name="inner">The underlying error, if any.</param>
    public KeyUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Creates a key-unavailable error reported by a CMEK provider.</summary>
    /// <param name="message">Which key is unavailable and why (never the key itself).</param>
    /// <param name="failureKind">Whether the CMEK was revoked or only failed transiently.</param>
    /// <param name="cmekErrorCode">The key service's own name for the error, e.g.
    /// <c>DisabledException</c>, or null when it gave none.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public KeyUnavailableException(string message, CmekFailureKind failureKind, string? cmekErrorCode, Exception? inner = null)
        : base(message, inner)
    {
        FailureKind = failureKind;
        CmekErrorCode = cmekErrorCode;
    }

    /// <summary>Creates a key-unavailable error with a generic message.</summary>
    public KeyUnavailableException()
        : this("a key needed for this operation is unavailable")
    {
    }

    /// <summary>
    /// Whether the CMEK refused (<see cref="CmekFailureKind.Revoked"/>) or could not answer
    /// (<see cref="CmekFailureKind.Transient"/>); <see cref="CmekFailureKind.Unspecified"/> when
    /// the error did not come from a CMEK.
    /// </summary>
    public CmekFailureKind FailureKind { get; }

    /// <summary>
    /// The key service's name for the error (for AWS KMS the exception type, such as
    /// <c>DisabledException</c>, <c>KMSInvalidStateException</c> or <c>ThrottlingException</c>),
    /// or null when not known.
    /// </summary>
    public string? CmekErrorCode { get; }
}
