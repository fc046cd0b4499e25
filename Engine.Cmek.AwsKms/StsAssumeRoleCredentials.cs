using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// Credentials of a role assumed with STS <c>AssumeRole</c> (with the external id the role's
/// trust policy demands), refreshed by the SDK before they expire. Unlike the SDK's own
/// AssumeRoleAWSCredentials, the STS client here honours the configured region and endpoint.
/// </summary>
internal sealed class StsAssumeRoleCredentials : RefreshingAWSCredentials
{
    private static readonly TimeSpan SessionDuration = TimeSpan.FromHours(1);

    private readonly AmazonSecurityTokenServiceClient _sts;
    private readonly string _roleArn;
    private readonly string? _externalId;
    private readonly string _sessionName;
    private long _assumeRoleCalls;

    public StsAssumeRoleCredentials(AWSCredentials? source, AmazonSecurityTokenServiceConfig config, string roleArn, string? externalId, string sessionName)
    {
        _sts = source is null ? new AmazonSecurityTokenServiceClient(config) : new AmazonSecurityTokenServiceClient(source, config);
        _roleArn = roleArn;
        _externalId = externalId;
        _sessionName = sessionName;
        PreemptExpiryTime = TimeSpan.FromMinutes(5);
    }

    /// <summary>How many AssumeRole requests were sent (counted with the KMS calls).</summary>
    public long AssumeRoleCalls => Interlocked.Read(ref _assumeRoleCalls);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sts.Dispose();
        }

        base.Dispose(disposing);
    }

    // The KMS client here is only ever called asynchronously, so the SDK asks for credentials through
    // GenerateNewCredentialsAsync; a synchronous refresh would block a thread on the network.
    protected override CredentialsRefreshState GenerateNewCredentials() =>
        throw new NotSupportedException("the assumed-role credentials of an aws-kms: CMEK refresh asynchronously only");

    protected override async Task<CredentialsRefreshState> GenerateNewCredentialsAsync()
    {
        Interlocked.Increment(ref _assumeRoleCalls);
        var request = new AssumeRoleRequest
        {
            RoleArn = _roleArn,
            RoleSessionName = _sessionName,
            ExternalId = _externalId,
            DurationSeconds = (int)SessionDuration.TotalSeconds,
        };
        AssumeRoleResponse response = await _sts.AssumeRoleAsync(request).ConfigureAwait(false);
        Credentials c = response.Credentials;
        DateTime expiration = c.Expiration ?? DateTime.UtcNow.Add(SessionDuration);
        return new CredentialsRefreshState(new ImmutableCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken), expiration.ToUniversalTime());
    }

    public override string ToString() => $"StsAssumeRoleCredentials(role={_roleArn}, session={_sessionName})";
}
