using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// Turns what the AWS SDK throws into a <see cref="KeyUnavailableException"/> that names the KMS
/// error and the key and says whether the key was revoked or the service failed transiently.
/// </summary>
internal static class AwsKmsErrors
{
    /// <summary>Answers that mean "ask again later": throttling, KMS's own retryable faults.</summary>
    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "IDPCommunicationError",
    };

    public static KeyUnavailableException Map(Exception error, string operation, string keyId, CancellationToken ct)
    {
        (CmekFailureKind kind, string code) = Classify(error, ct);
        string detail = error is AmazonServiceException ? error.Message : error.GetType().Name + ": " + error.Message;
        string advice = kind == CmekFailureKind.Revoked
            ? "the key is revoked or unusable for this store until an operator restores access"
            : "the key service could not answer; retry later";
        return new KeyUnavailableException(
            $"AWS KMS {operation} with key {keyId} failed with {code} ({advice}): {detail}",
            kind,
            code,
            error);
    }

    public static (CmekFailureKind Kind, string Code) Classify(Exception error, CancellationToken ct)
    {
        switch (error)
        {
            case AmazonServiceException service:
                {
                    string? code = string.IsNullOrEmpty(service.ErrorCode) ? null : service.ErrorCode;
                    int status = (int)service.StatusCode;
                    if (code is not null && TransientCodes.Contains(code))
                    {
                        return (CmekFailureKind.Transient, code);
                    }

                    if (status >= 500 || service.StatusCode == HttpStatusCode.RequestTimeout || service.StatusCode == (HttpStatusCode)429)
                    {
                        return (CmekFailureKind.Transient, code ?? $"HTTP {status}");
                    }

                    if (code is null && status == 0)
                    {
                        // No answer from the service at all: the SDK wraps a transport failure.
                        return (CmekFailureKind.Transient, InnermostName(service));
                    }

                    // Any other refusal (access denied, disabled, pending deletion, not found,
                    // invalid ciphertext, incorrect key, expired or revoked credentials, a role that
                    // no longer trusts us) does not go away by retrying.
                    return (CmekFailureKind.Revoked, code ?? $"HTTP {status}");
                }

            case OperationCanceledException when !ct.IsCancellationRequested:
                return (CmekFailureKind.Transient, "Timeout");
            case TimeoutException:
                return (CmekFailureKind.Transient, "Timeout");
            case HttpRequestException or SocketException or IOException:
                return (CmekFailureKind.Transient, InnermostName(error));
            case AmazonClientException:
                // Raised before any answer: no credentials resolved yet, endpoint unreachable,
                // response unreadable. Treated as transient: the lock state machine still locks
                // once the cached keys reach their TTL without a successful check.
                return (CmekFailureKind.Transient, InnermostName(error));
            default:
                return (CmekFailureKind.Transient, error.GetType().Name);
        }
    }

    private static string InnermostName(Exception error)
    {
        Exception inner = error;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner switch
        {
            SocketException socket => "SocketException." + socket.SocketErrorCode,
            OperationCanceledException => "Timeout",
            _ => inner.GetType().Name,
        };
    }
}
