using Amazon.Runtime;
using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// How to reach an AWS KMS key. Every property left null is taken from the CMEK URI
/// (<c>aws-kms:KEY?region=R&amp;endpoint=URL&amp;role=ROLE_ARN&amp;external-id=X</c>) and failing
/// that from the standard AWS configuration chain (environment variables, shared config and
/// credentials files, SSO, container and instance roles), exactly as the AWS SDK resolves them.
/// A property set here overrides the URI.
/// </summary>
/// <remarks>
/// Credentials are never part of a CMEK URI (the URI is stored in plaintext in the store's key
/// registry): give them here or through the configuration chain.
/// </remarks>
public sealed class AwsKmsOptions
{
    /// <summary>
    /// The KMS key: a key ARN (recommended; it also names the region and account), a key id, or
    /// an alias (<c>alias/NAME</c> or an alias ARN).
    /// </summary>
    public string? KeyId { get; set; }

    /// <summary>The AWS region, e.g. <c>eu-west-1</c>. Default: the region of a key ARN, else
    /// the configuration chain (<c>AWS_REGION</c>, profile).</summary>
    public string? Region { get; set; }

    /// <summary>A KMS endpoint to use instead of the region's public one: a VPC endpoint, a FIPS
    /// endpoint, or a local endpoint for rehearsals (<c>http://127.0.0.1:PORT</c>).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// A role to assume (STS <c>AssumeRole</c>) before calling KMS, typically a role in the
    /// customer's account that trusts this service's account. The source credentials are
    /// <see cref="Credentials"/> or the configuration chain.
    /// </summary>
    public string? RoleArn { get; set; }

    /// <summary>The external id the role's trust policy requires (<c>sts:ExternalId</c>);
    /// only meaningful with <see cref="RoleArn"/>.</summary>
    public string? ExternalId { get; set; }

    /// <summary>The STS session name, visible in the customer's CloudTrail. Default <c>ekv-cmek</c>.</summary>
    public string? RoleSessionName { get; set; }

    /// <summary>An STS endpoint to use instead of the region's (VPC endpoint, local rehearsal).</summary>
    public Uri? StsEndpoint { get; set; }

    /// <summary>Credentials to sign with (or to assume <see cref="RoleArn"/> with). Default: the
    /// configuration chain.</summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>Timeout of one HTTP attempt. Default: 10 seconds.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>How many times the SDK retries a throttled or failed request before the
    /// failure is reported (as <see cref="CmekFailureKind.Transient"/>). Default: the SDK's.</summary>
    public int? MaxErrorRetry { get; set; }

    /// <summary>A copy in which every property set on <paramref name="overrides"/> replaces this one's.</summary>
    internal AwsKmsOptions MergedWith(AwsKmsOptions? overrides)
    {
        if (overrides is null)
        {
            return (AwsKmsOptions)MemberwiseClone();
        }

        return new AwsKmsOptions
        {
            KeyId = overrides.KeyId ?? KeyId,
            Region = overrides.Region ?? Region,
            Endpoint = overrides.Endpoint ?? Endpoint,
            RoleArn = overrides.RoleArn ?? RoleArn,
            ExternalId = overrides.ExternalId ?? ExternalId,
            RoleSessionName = overrides.RoleSessionName ?? RoleSessionName,
            StsEndpoint = overrides.StsEndpoint ?? StsEndpoint,
            Credentials = overrides.Credentials ?? Credentials,
            Timeout = overrides.Timeout ?? Timeout,
            MaxErrorRetry = overrides.MaxErrorRetry ?? MaxErrorRetry,
        };
    }
}
