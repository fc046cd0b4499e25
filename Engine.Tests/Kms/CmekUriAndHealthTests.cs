using Engine.Cmek.AwsKms;
using Engine.Crypto;
using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Kms;

/// <summary>Parsing <c>aws-kms:</c> URIs, and the key file's health check.</summary>
public sealed class CmekUriAndHealthTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ekv-cmek-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Uri_parameters_are_parsed_and_written_back_without_credentials()
    {
        const string arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        AwsKmsOptions options = AwsKmsUri.Parse($"aws-kms:{arn}?endpoint=http%3A%2F%2F127.0.0.1%3A4566&role=arn:aws:iam::111122223333:role/app&external-id=x%20y");
        Assert.Equal(arn, options.KeyId);
        Assert.Equal(new Uri("http://127.0.0.1:4566"), options.Endpoint);
        Assert.Equal("arn:aws:iam::111122223333:role/app", options.RoleArn);
        Assert.Equal("x y", options.ExternalId);
        Assert.Null(options.Region);
        Assert.Equal("eu-west-1", AwsKmsUri.RegionOfArn(arn));

        using AwsKmsCmek cmek = AwsKmsCmek.Open(AwsKmsUri.Format(options), new AwsKmsOptions { Credentials = KmsTestServer.Credentials, Region = "eu-central-1" });
        Assert.Equal("eu-central-1", cmek.Region); // options override the URI and the ARN
        AwsKmsOptions again = AwsKmsUri.Parse(cmek.Uri);
        Assert.Equal(options.ExternalId, again.ExternalId);
        Assert.Equal(options.Endpoint, again.Endpoint);
        Assert.DoesNotContain("local-secret", cmek.Uri, StringComparison.Ordinal);
        Assert.DoesNotContain("AKID", cmek.Uri, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aws-kms:")]
    [InlineData("aws-kms:?region=us-east-1")]
    [InlineData("aws-kms:key?regoin=us-east-1")]
    [InlineData("aws-kms:key?secret-access-key=abc")]
    [InlineData("aws-kms:key?endpoint=ftp://x")]
    [InlineData("aws-kms:key?region=")]
    [InlineData("aws-kms:key?external-id=x")]
    public void Malformed_uris_are_refused(string uri)
    {
        Assert.Throws<ArgumentException>(() => CmekProviders.Open(uri));
    }

    [Fact]
    public async Task Key_file_check_passes_then_detects_removal_and_replacement()
    {
        string path = Path.Combine(_dir, "cmek.key");
        using LocalKeyFileCmek cmek = LocalKeyFileCmek.Create(path);
        await cmek.CheckAsync();

        File.Move(path, path + ".away");
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);

        LocalKeyFileCmek.Create(path).Dispose(); // a different key under the same name
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        Assert.Equal("KeyFileChanged", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);

        File.Move(path + ".away", path, overwrite: true);
        await cmek.CheckAsync();

        cmek.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cmek.CheckAsync());
    }

    [Fact]
    public async Task Counting_decorator_forwards_the_check()
    {
        using var dir = new TestStoreDirectory();
        using var counting = new TestCmek(CmekProviders.Open(dir.CmekUri));
        await counting.CheckAsync();
        Assert.Equal(1, counting.CheckCount);
        Assert.Equal(1, counting.CallCount);
    }
}
