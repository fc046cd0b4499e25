using Engine.Tests.Support;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>engine init</c> is all or nothing (issue 11): when the CMEK cannot wrap the new store's root key,
/// nothing is left at the target (a directory that existed empty stays empty), and an <c>aws-kms:</c> URI
/// without AWS credentials is a configuration error (exit code 4, "no AWS credentials"), not an outage to
/// retry.
/// </summary>
public sealed class InitAllOrNothingTests : IDisposable
{
    private const int KeyUnavailable = 4;

    // Any well-formed key ARN: the call fails while the SDK looks for credentials, before any request.
    private const string AwsUri = "aws-kms:arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A9";

    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// An environment in which the AWS SDK's default chain finds no credentials: no variables, profiles
    /// that point at missing files, no instance metadata (which would otherwise be probed over the network).
    /// </summary>
    private Dictionary<string, string?> NoAwsCredentials() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = null,
        ["AWS_SECRET_ACCESS_KEY"] = null,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_PROFILE"] = null,
        ["AWS_DEFAULT_PROFILE"] = null,
        ["AWS_WEB_IDENTITY_TOKEN_FILE"] = null,
        ["AWS_ROLE_ARN"] = null,
        ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null,
        ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null,
        ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_dir.Root, "no-such-credentials"),
        ["AWS_CONFIG_FILE"] = Path.Combine(_dir.Root, "no-such-config"),
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["HOME"] = _dir.Root,
    };

    private CliRun InitWithoutAwsCredentials(string store) =>
        CliRun.WithEnvironment(null, NoAwsCredentials(), "init", "--store", store, "--cmek", AwsUri);

    private static void AssertMissingCredentials(CliRun run)
    {
        run.Expect(KeyUnavailable);
        Assert.StartsWith("engine: key unavailable: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("MissingCredentials", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("no AWS credentials were found", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("retry later", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Init_on_aws_kms_without_credentials_is_a_configuration_error_and_leaves_no_directory()
    {
        string parent = Path.Combine(_dir.Root, "new-parent");
        string store = Path.Combine(parent, "store");

        AssertMissingCredentials(InitWithoutAwsCredentials(store));

        Assert.False(Directory.Exists(store), $"init left {store} behind");
        Assert.False(Directory.Exists(parent), $"init left the parent it created, {parent}, behind");
        Assert.False(EncryptedStore.Exists(store));
    }

    [Fact]
    public void Init_on_aws_kms_without_credentials_leaves_an_existing_empty_directory_empty()
    {
        Directory.CreateDirectory(_dir.StorePath);

        AssertMissingCredentials(InitWithoutAwsCredentials(_dir.StorePath));

        Assert.True(Directory.Exists(_dir.StorePath), "init removed a directory it did not create");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.StorePath));
    }

    [Fact]
    public void After_a_failed_init_the_same_directory_initializes_with_a_working_key()
    {
        Assert.Equal(KeyUnavailable, InitWithoutAwsCredentials(_dir.StorePath).ExitCode);

        CliRun.Of("init", "--store", _dir.StorePath, "--cmek", _dir.CmekUri).Expect(0);
        CliRun.Of("put", "--store", _dir.StorePath, "--ns", "n", "k", "v").Expect(0);
        Assert.Equal(["v"], CliRun.Of("get", "--store", _dir.StorePath, "--ns", "n", "k").Expect(0).Lines);
    }
}
