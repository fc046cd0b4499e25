namespace Engine.KmsLocal;

/// <summary>How the local KMS misbehaves on every request, to test transient-failure handling.</summary>
public enum KmsFailureMode
{
    /// <summary>Answer normally.</summary>
    None = 0,

    /// <summary>Answer <c>ThrottlingException</c> (HTTP 400), as AWS does past a request quota.</summary>
    Throttle,

    /// <summary>Answer <c>KMSInternalException</c> (HTTP 500).</summary>
    InternalError,

    /// <summary>Answer <c>ServiceUnavailableException</c> (HTTP 503).</summary>
    ServiceUnavailable,

    /// <summary>Never answer: hold the request until the client gives up or the server stops.</summary>
    Hang,
}

/// <summary>
/// An error answer a test makes the local KMS give (through
/// <see cref="LocalKmsServer.FaultInjector"/>), in AWS's shape.
/// </summary>
/// <param name="Code">The AWS error code written as <c>__type</c>, e.g. <c>AccessDeniedException</c>.</param>
/// <param name="HttpStatus">The HTTP status code, e.g. 400.</param>
/// <param name="Message">The error message.</param>
public sealed record LocalKmsFault(string Code, int HttpStatus, string Message)
{
    /// <summary>What AWS answers when the key policy or IAM denies the caller (HTTP 400).</summary>
    /// <param name="operation">The operation denied, e.g. <c>Decrypt</c>.</param>
    /// <returns>The fault.</returns>
    public static LocalKmsFault AccessDenied(string operation) =>
        new("AccessDeniedException", 400, $"User: arn:aws:sts::111122223333:assumed-role/app/ekv is not authorized to perform: kms:{operation} because no resource-based policy allows the kms:{operation} action");

    /// <summary>What AWS answers past the request quota (HTTP 400).</summary>
    /// <returns>The fault.</returns>
    public static LocalKmsFault Throttling() => new("ThrottlingException", 400, "Rate exceeded");
}
