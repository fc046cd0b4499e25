using System.Security.Cryptography;
using Amazon;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// A CMEK held in AWS KMS, used through the AWS SDK: the store's root KEK is wrapped with KMS
/// <c>Encrypt</c> and unwrapped with KMS <c>Decrypt</c>, both under an encryption context that
/// binds the wrap to the store id (<c>{"ekv-store-id": "&lt;hex&gt;"}</c>), so a wrapped key
/// copied into another store does not unwrap, and key policies can condition on the store.
/// </summary>
/// <remarks>
/// <para>The engine calls KMS once when a store is created or opened, and the periodic health
/// check (<see cref="CheckAsync"/>, a <c>DescribeKey</c>) once per check interval: never per file
/// or per operation. <see cref="CallCount"/> counts the requests.</para>
/// <para>Failures surface as <see cref="KeyUnavailableException"/> whose
/// <see cref="KeyUnavailableException.CmekErrorCode"/> is the KMS error (<c>DisabledException</c>,
/// <c>KMSInvalidStateException</c>, <c>NotFoundException</c>, <c>AccessDeniedException</c>,
/// <c>InvalidCiphertextException</c>, <c>IncorrectKeyException</c>, <c>ThrottlingException</c>,
/// ...) and whose <see cref="KeyUnavailableException.FailureKind"/> tells revocation from a
/// transient failure.</para>
/// <para>Key bytes pass through the SDK's request and response buffers (base64 in JSON); this
/// class zeroes the copies it owns and never logs or formats them. Thread-safe.</para>
/// </remarks>
public sealed class AwsKmsCmek : ICmekProvider, ICmekHealthCheck
{
    /// <summary>The URI scheme of this provider (<c>aws-kms:</c>).</summary>
    public const string Scheme = "aws-kms";

    /// <summary>
    /// Lets <see cref="CmekProviders.Open(string)"/> (and so a store reopened from its directory, and
    /// <c>StoreOptions.CmekUri</c>) open <c>aws-kms:</c> URIs. Call once at start-up; calling again does nothing.
    /// </summary>
    public static void Register() => CmekProviders.Register(new AwsKmsCmekProviderFactory());

    /// <summary>The encryption-context key that carries the store id (hex).</summary>
    public const string EncryptionContextKey = "ekv-store-id";

    private const string DefaultSessionName = "ekv-cmek";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly AmazonKeyManagementServiceClient _kms;
    private readonly StsAssumeRoleCredentials? _roleCredentials;
    private string? _resolvedArn;
    private long _calls;
    private int _disposed;

    private AwsKmsCmek(AwsKmsOptions options)
    {
        KeyId = options.KeyId!;
        Region = options.Region ?? AwsKmsUri.RegionOfArn(KeyId);
        Uri = AwsKmsUri.Format(options);

        var config = new AmazonKeyManagementServiceConfig
        {
            Timeout = options.Timeout ?? DefaultTimeout,
        };
        if (options.MaxErrorRetry is int retries)
        {
            config.MaxErrorRetry = retries;
        }

        Configure(config, Region, options.Endpoint);

        AWSCredentials? credentials = options.Credentials;
        if (options.RoleArn is not null)
        {
            var stsConfig = new AmazonSecurityTokenServiceConfig { Timeout = config.Timeout };
            if (options.MaxErrorRetry is int stsRetries)
            {
                stsConfig.MaxErrorRetry = stsRetries;
            }

            Configure(stsConfig, Region, options.StsEndpoint);
            _roleCredentials = new StsAssumeRoleCredentials(
                options.Credentials, stsConfig, options.RoleArn, options.ExternalId, options.RoleSessionName ?? DefaultSessionName);
            credentials = _roleCredentials;
        }

        _kms = credentials is null ? new AmazonKeyManagementServiceClient(config) : new AmazonKeyManagementServiceClient(credentials, config);
    }

    /// <inheritdoc/>
    public string Uri { get; }

    /// <summary>The key as configured (ARN, key id or alias).</summary>
    public string KeyId { get; }

    /// <summary>The region used, or null when the AWS configuration chain decides.</summary>
    public string? Region { get; }

    /// <summary>
    /// Requests this provider sent to KMS and STS (each <c>Encrypt</c>, <c>Decrypt</c>,
    /// <c>DescribeKey</c>, <c>AssumeRole</c>; the SDK's automatic retries of one request count
    /// once). For tests and benchmarks that check KMS traffic stays O(1).
    /// </summary>
    public long CallCount => Interlocked.Read(ref _calls) + (_roleCredentials?.AssumeRoleCalls ?? 0);

    /// <summary>
    /// Opens the key named by an <c>aws-kms:</c> URI. No request is sent until the key is used.
    /// </summary>
    /// <param name="uri"><c>aws-kms:KEY?region=R&amp;endpoint=URL&amp;role=ROLE_ARN&amp;external-id=X&amp;sts-endpoint=URL</c>;
    /// only KEY is required.</param>
    /// <param name="overrides">Settings that replace the URI's (and credentials, which the URI
    /// never holds); null to use the URI and the AWS configuration chain.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The URI is malformed, names no key, has an unknown
    /// parameter, or an endpoint that is not an http(s) URL.</exception>
    public static AwsKmsCmek Open(string uri, AwsKmsOptions? overrides = null) =>
        Open(AwsKmsUri.Parse(uri).MergedWith(overrides));

    /// <summary>Opens the key described by <paramref name="options"/>. No request is sent until the key is used.</summary>
    /// <param name="options">At least <see cref="AwsKmsOptions.KeyId"/>.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">No key id, or an unknown region name.</exception>
    public static AwsKmsCmek Open(AwsKmsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.KeyId))
        {
            throw new ArgumentException("AwsKmsOptions.KeyId is required (a key ARN, key id or alias)", nameof(options));
        }

        if (options.ExternalId is not null && options.RoleArn is null)
        {
            throw new ArgumentException("an external id is only used when assuming a role: set the role (URI parameter 'role') too", nameof(options));
        }

        return new AwsKmsCmek(options.MergedWith(null));
    }

    /// <inheritdoc/>
    /// <exception cref="KeyUnavailableException">KMS refused or could not be reached; see
    /// <see cref="KeyUnavailableException.FailureKind"/>.</exception>
    public async Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        byte[] plain = GC.AllocateArray<byte>(key.Length, pinned: true);
        key.Span.CopyTo(plain);
        try
        {
            var request = new EncryptRequest
            {
                KeyId = KeyId,
                Plaintext = new MemoryStream(plain, writable: false),
                EncryptionContext = Context(context.Span),
            };
            EncryptResponse response = await Call("Encrypt", c => _kms.EncryptAsync(request, c), ct).ConfigureAwait(false);
            Remember(response.KeyId);
            return response.CiphertextBlob.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="KeyUnavailableException">KMS refused (wrong key, wrong context, key
    /// disabled, pending deletion, deleted, access denied) or could not be reached; see
    /// <see cref="KeyUnavailableException.FailureKind"/>.</exception>
    public async Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        var request = new DecryptRequest
        {
            KeyId = KeyId,
            CiphertextBlob = new MemoryStream(wrapped.ToArray(), writable: false),
            EncryptionContext = Context(context.Span),
        };
        DecryptResponse response = await Call("Decrypt", c => _kms.DecryptAsync(request, c), ct).ConfigureAwait(false);
        MemoryStream plaintext = response.Plaintext;
        try
        {
            Remember(response.KeyId);
            byte[] key = GC.AllocateArray<byte>((int)plaintext.Length, pinned: true);
            plaintext.Position = 0;
            plaintext.ReadExactly(key);
            return key;
        }
        finally
        {
            if (plaintext.TryGetBuffer(out ArraySegment<byte> buffer))
            {
                CryptographicOperations.ZeroMemory(buffer.AsSpan());
            }

            plaintext.Dispose();
        }
    }

    /// <summary>
    /// One <c>DescribeKey</c>: the key must exist, be <c>Enabled</c>, and be the key that earlier
    /// wraps and unwraps used (an alias re-pointed at another key is reported).
    /// </summary>
    /// <param name="ct">Cancels the request.</param>
    /// <returns>A task that completes when the key is usable.</returns>
    /// <exception cref="KeyUnavailableException">The key is disabled
    /// (<c>DisabledException</c>), pending deletion or otherwise not enabled
    /// (<c>KMSInvalidStateException</c>), not found, access is denied, or KMS could not be
    /// reached (<see cref="CmekFailureKind.Transient"/>).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    public async Task CheckAsync(CancellationToken ct = default)
    {
        ThrowIfDisposed();
        var request = new DescribeKeyRequest { KeyId = KeyId };
        DescribeKeyResponse response = await Call("DescribeKey", c => _kms.DescribeKeyAsync(request, c), ct).ConfigureAwait(false);
        KeyMetadata metadata = response.KeyMetadata;
        string state = metadata.KeyState?.Value ?? "Unknown";
        if (state != KeyState.Enabled.Value)
        {
            string code = state == KeyState.Disabled.Value ? "DisabledException" : "KMSInvalidStateException";
            throw new KeyUnavailableException(
                $"AWS KMS key {KeyId} is not usable: its key state is {state} ({code}); the store cannot unwrap its keys until the key is enabled again",
                CmekFailureKind.Revoked,
                code);
        }

        string? known = Volatile.Read(ref _resolvedArn);
        if (known is not null && metadata.Arn is not null && !string.Equals(known, metadata.Arn, StringComparison.Ordinal))
        {
            throw new KeyUnavailableException(
                $"AWS KMS key {KeyId} now resolves to {metadata.Arn}, not {known} which wrapped this store's key (alias re-pointed?)",
                CmekFailureKind.Revoked,
                "IncorrectKeyException");
        }

        Remember(metadata.Arn);
    }

    /// <summary>Closes the SDK clients. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _kms.Dispose();
            _roleCredentials?.Dispose();
        }
    }

    /// <summary>Names the key and endpoint; never credentials.</summary>
    public override string ToString() => $"AwsKmsCmek({Uri})";

    private static void Configure(ClientConfig config, string? region, Uri? endpoint)
    {
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint.OriginalString;
            if (region is not null)
            {
                config.AuthenticationRegion = region;
            }
        }
        else if (region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
    }

    private static Dictionary<string, string> Context(ReadOnlySpan<byte> context) =>
        new(StringComparer.Ordinal) { [EncryptionContextKey] = Convert.ToHexStringLower(context) };

    private async Task<T> Call<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            return await call(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (ObjectDisposedException or ArgumentException) && !(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            throw AwsKmsErrors.Map(e, operation, KeyId, ct);
        }
    }

    private void Remember(string? arn)
    {
        if (!string.IsNullOrEmpty(arn))
        {
            Interlocked.CompareExchange(ref _resolvedArn, arn, null);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
