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

    /// <summary>Creates a key-unavailable error with a generic message.</summary>
    public KeyUnavailableException()
        : this("a key needed for this operation is unavailable")
    {
    }
}
