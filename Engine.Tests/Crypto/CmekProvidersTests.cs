using Engine.Cmek.AwsKms;
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
    public void Unknown_scheme_names_the_registered_ones_and_the_provider_packages()
    {
        var e = Assert.Throws<ArgumentException>(() => CmekProviders.Open("hsm-x:slot/1"));
        Assert.Contains("'hsm-x'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'file:'", e.Message, StringComparison.Ordinal);
        Assert.Contains("CmekProviders.Register", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_registered_factory_opens_its_scheme_case_insensitively_and_registering_twice_is_harmless()
    {
        CmekProviders.Register(new FixedFactory("test-registry-a"));
        CmekProviders.Register(new FixedFactory("TEST-REGISTRY-A"));
        Assert.True(CmekProviders.IsRegistered("test-registry-a"));
        Assert.Contains("test-registry-a", CmekProviders.Schemes, StringComparer.OrdinalIgnoreCase);
        using ICmekProvider opened = CmekProviders.Open("Test-Registry-A:anything");
        Assert.Equal("Test-Registry-A:anything", opened.Uri);
    }

    [Fact]
    public void Another_factory_cannot_take_over_a_registered_scheme()
    {
        var e = Assert.Throws<InvalidOperationException>(() => CmekProviders.Register(new OtherFactory(CmekProviders.FileScheme)));
        Assert.Contains("'file:'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CmekProviders.Register(new FixedFactory("bad:scheme")));
        Assert.Throws<ArgumentException>(() => CmekProviders.Register(new FixedFactory(" ")));
    }

    [Fact]
    public void The_core_assemblies_do_not_reference_the_aws_sdk()
    {
        // An application without AWS must not pull the AWS SDK: only the provider package references it.
        foreach (System.Reflection.Assembly assembly in new[] { typeof(CmekProviders).Assembly, typeof(EncryptedStore).Assembly })
        {
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("AWSSDK", StringComparison.Ordinal));
        }
        Assert.Contains(typeof(AwsKmsCmek).Assembly.GetReferencedAssemblies(), a => a.Name == "AWSSDK.KeyManagementService");
    }

    private sealed class FixedFactory(string scheme) : ICmekProviderFactory
    {
        public string Scheme => scheme;

        public ICmekProvider Open(string uri) => new TestCmekWithUri(uri);
    }

    private sealed class OtherFactory(string scheme) : ICmekProviderFactory
    {
        public string Scheme => scheme;

        public ICmekProvider Open(string uri) => throw new InvalidOperationException("never opened");
    }

    private sealed class TestCmekWithUri(string uri) : ICmekProvider
    {
        public string Uri => uri;

        public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default) => throw new NotSupportedException();

        public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Missing_key_file_is_key_unavailable()
    {
        Assert.Throws<KeyUnavailableException>(() => CmekProviders.Open("file:" + _dir.File("none.key")));
    }
}
