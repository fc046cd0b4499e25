namespace Engine;

/// <summary>
/// Tells why a CMEK could not be used, so that the store's lock state machine can react in
/// proportion: a revoked key locks the store within one check interval, a transient failure only
/// degrades it (it keeps serving from cached keys and retries).
/// </summary>
public enum CmekFailureKind
{
    /// <summary>The error did not come from asking a CMEK (for example a crypto-shredded
    /// namespace key), or its cause is not classified.</summary>
    Unspecified = 0,

    /// <summary>
    /// The key service answered that the key cannot be used: access denied, key disabled,
    /// pending deletion or deleted, not found, or it does not decrypt this blob (wrong key, wrong
    /// encryption context, damaged blob); for a key file: the file is gone, unreadable or holds
    /// another key; for a key service: no credentials to call it with (a configuration error).
    /// Retrying does not help until an operator acts.
    /// </summary>
    Revoked = 1,

    /// <summary>
    /// The key service could not answer now: throttling, a 5xx answer, a timeout, a refused or
    /// broken connection. Retrying later may succeed.
    /// </summary>
    Transient = 2,
}
