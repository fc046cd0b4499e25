using Amazon.KeyManagementService;
using Amazon.Runtime;
using Engine.Cmek.AwsKms;
using Engine.Crypto;
using Engine.KmsLocal;

namespace Engine.Tests.Kms;

/// <summary>
/// A local KMS on 127.0.0.1 (port 0) in a scratch directory, with a clock the test moves, plus
/// factories for the real AWS SDK client and for <see cref="AwsKmsCmek"/> pointed at it.
/// </summary>
internal sealed class KmsTestServer : IAsyncDisposable
{
    public const string Region = "us-east-1";

    static KmsTestServer()
    {
        // The AWS SDK must never probe the EC2 instance metadata address from a test: every test
        // passes credentials and a region, and this switches the probe off as a second guard.
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    private KmsTestServer(string root, LocalKmsServer server, ManualTime time)
    {
        Root = root;
        Server = server;
        Time = time;
    }

    public string Root { get; }

    public LocalKmsServer Server { get; }

    public ManualTime Time { get; }

    /// <summary>The endpoint as put into a CMEK URI: <c>http://127.0.0.1:PORT</c>.</summary>
    public string Endpoint => Server.Endpoint.OriginalString.TrimEnd('/');

    public static BasicAWSCredentials Credentials { get; } = new("AKIDLOCALTEST", "local-secret-not-checked");

    /// <summary>
    /// Puts <see cref="Credentials"/> into the environment, where the AWS SDK's default chain finds them,
    /// as it would in production: a CMEK URI never holds credentials.
    /// </summary>
    public static void ExportCredentialsToEnvironment()
    {
        ImmutableCredentials c = Credentials.GetCredentials();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", c.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", c.SecretKey);
    }

    public static async Task<KmsTestServer> StartAsync()
    {
        string root = Directory.CreateTempSubdirectory("ekv-kms-").FullName;
        var time = new ManualTime(DateTimeOffset.UtcNow);
        LocalKmsServer server = await LocalKmsServer.StartAsync(Path.Combine(root, "kms"), 0, new LocalKmsServerOptions { Region = Region, Time = time });
        return new KmsTestServer(root, server, time);
    }

    public AmazonKeyManagementServiceClient Client() =>
        new(Credentials, new AmazonKeyManagementServiceConfig
        {
            ServiceURL = Endpoint,
            AuthenticationRegion = Region,
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(5),
        });

    /// <summary>A key created through the operator API (same file the server reads).</summary>
    public LocalKmsKey CreateKey(string? description = null) => Server.Keys.Create(description);

    public string Uri(string keyId, string extra = "") => $"aws-kms:{keyId}?endpoint={Endpoint}&region={Region}{extra}";

    public AwsKmsCmek Cmek(string keyId, AwsKmsOptions? overrides = null, string extra = "")
    {
        var options = overrides ?? new AwsKmsOptions();
        options.Credentials ??= Credentials;
        options.MaxErrorRetry ??= 0;
        options.Timeout ??= TimeSpan.FromSeconds(5);
        return AwsKmsCmek.Open(Uri(keyId, extra), options);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A clock that moves only when told.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
