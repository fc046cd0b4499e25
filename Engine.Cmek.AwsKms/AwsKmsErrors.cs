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

    /// <summary>The code of a call that found no AWS credentials to sign with (a configuration error).</summary>
    public const string MissingCredentialsCode = "MissingCredentials";

    /// <summary>
    /// How the SDK's credential resolution starts the message of the <see cref="AmazonClientException"/>
    /// it throws when no source (environment, profile, web identity, container, instance metadata) has
    /// credentials: the default chain's, and the older fallback factory's. The SDK has no exception type
    /// or code for it, so its message is the only signal; Engine.Tests/Cli (InitAllOrNothingTests) pins
    /// it against the SDK version in use.
    /// </summary>
    private static readonly string[] NoCredentialsMessages = ["Failed to resolve AWS credentials", "Unable to find credentials"];

    public static KeyUnavailableException Map(Exception error, string operation, string keyId, CancellationToken ct)
    {
        (CmekFailureKind kind, string code) = Classify(error, ct);
        string detail = error is AmazonServiceException ? error.Message : error.GetType().Name + ": " + error.Message;
        string advice = code == MissingCredentialsCode
            ? "no AWS credentials were found (environment, shared credentials or config profile, web identity, container or instance role); configure them, retrying does not help"
            : kind == CmekFailureKind.Revoked
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
            case AmazonClientException when IsMissingCredentials(error):
                // A configuration error, not an outage: nothing to retry until an operator provides
                // credentials. Like a revocation, the lock state machine locks at once and unlocks at
                // the first check that succeeds once credentials are there.
                return (CmekFailureKind.Revoked, MissingCredentialsCode);
            case AmazonClientException:
                // Raised before any answer: endpoint unreachable,
                // response unreadable. Treated as transient: the lock state machine still locks
                // once the cached keys reach their TTL without a successful check.
                return (CmekFailureKind.Transient, InnermostName(error));
            default:
                return (CmekFailureKind.Transient, error.GetType().Name);
        }
    }

    private static bool IsMissingCredentials(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is AmazonClientException && NoCredentialsMessages.Any(m => e.Message.StartsWith(m, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
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
