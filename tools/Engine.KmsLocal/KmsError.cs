namespace Engine.KmsLocal;

/// <summary>
/// An error answer in AWS's shape: the <c>__type</c> (error code), the HTTP status AWS documents
/// for it, and a message. Thrown by the key store and the operations, written by the server.
/// </summary>
internal sealed class KmsError : Exception
{
    public KmsError(string code, int status, string message)
        : base(message)
    {
        Code = code;
        Status = status;
    }

    public KmsError()
        : this("KMSInternalException", 500, "internal error")
    {
    }

    public KmsError(string message)
        : this("KMSInternalException", 500, message)
    {
    }

    public KmsError(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "KMSInternalException";
        Status = 500;
    }

    /// <summary>The AWS error code, written as <c>__type</c>.</summary>
    public string Code { get; }

    /// <summary>The HTTP status code AWS uses for it.</summary>
    public int Status { get; }

    // HTTP status codes as documented in the AWS KMS API reference (per-operation "Errors"
    // sections and "Common Errors").
    public static KmsError NotFound(string message) => new("NotFoundException", 400, message);

    public static KmsError Disabled(string message) => new("DisabledException", 409, message);

    public static KmsError InvalidState(string message) => new("KMSInvalidStateException", 409, message);

    public static KmsError InvalidCiphertext(string message) => new("InvalidCiphertextException", 400, message);

    public static KmsError IncorrectKey(string message) => new("IncorrectKeyException", 400, message);

    public static KmsError AccessDenied(string message) => new("AccessDeniedException", 400, message);

    public static KmsError Validation(string message) => new("ValidationException", 400, message);

    public static KmsError AlreadyExists(string message) => new("AlreadyExistsException", 400, message);

    public static KmsError InvalidAliasName(string message) => new("InvalidAliasNameException", 400, message);

    public static KmsError InvalidMarker(string message) => new("InvalidMarkerException", 400, message);

    public static KmsError Throttling(string message) => new("ThrottlingException", 400, message);

    public static KmsError Internal(string message) => new("KMSInternalException", 500, message);

    public static KmsError Unavailable(string message) => new("ServiceUnavailableException", 503, message);

    public static KmsError MissingAuthenticationToken(string message) => new("MissingAuthenticationTokenException", 400, message);

    public static KmsError IncompleteSignature(string message) => new("IncompleteSignatureException", 400, message);

    public static KmsError UnknownOperation(string message) => new("UnknownOperationException", 400, message);

    public static KmsError Serialization(string message) => new("SerializationException", 400, message);

    public static KmsError UnsupportedOperation(string message) => new("UnsupportedOperationException", 400, message);
}
