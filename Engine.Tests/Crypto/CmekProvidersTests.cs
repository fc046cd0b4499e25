using Engine.Crypto;

namespace Engine.Tests.Crypto;

public sealed class CmekProvidersTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void File_uri_opens_a_local_key_file_with_an_absolute_uri()
    {
        string path = _dir.File("k.key");
        LocalKeyFileCmek.Create(path).Dispose();

        using ICmekProvider plain = CmekProviders.Open("file:" + path);
        using ICmekProvider triple = CmekProviders.Open("file://" + path);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        using ICmekProvider fromRelative = CmekProviders.Open("file:" + relative);

        Assert.Equal("file:" + path, plain.Uri);
        Assert.Equal("file:" + path, triple.Uri);
        Assert.Equal("file:" + path, fromRelative.Uri);
        Assert.IsType<LocalKeyFileCmek>(plain);
    }

    [Fact]
    public void Unknown_scheme_is_an_argument_error_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => CmekProviders.Open("vault:secret/x"));
        Assert.Contains("'vault'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CmekProviders.Open("no-scheme-here"));
        Assert.Throws<ArgumentException>(() => CmekProviders.Open("file:"));
        Assert.Throws<ArgumentException>(() => CmekProviders.Open("file://host/key"));
    }

    [Fact]
    public void Aws_kms_opens_an_aws_kms_provider_without_calling_kms()
    {
        using ICmekProvider cmek = CmekProviders.Open("aws-kms:arn:aws:kms:eu-west-1:111122223333:key/abc");
        var kms = Assert.IsType<AwsKmsCmek>(cmek);
        Assert.Equal("eu-west-1", kms.Region);
        Assert.Equal(0, kms.CallCount);
    }

    [Fact]
    public void Missing_key_file_is_key_unavailable()
    {
        Assert.Throws<KeyUnavailableException>(() => CmekProviders.Open("file:" + _dir.File("none.key")));
    }
}
