using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// Opens <c>aws-kms:</c> URIs for <see cref="CmekProviders"/>; register it with
/// <see cref="AwsKmsCmek.Register"/> (or <see cref="CmekProviders.Register(ICmekProviderFactory)"/>).
/// Credentials come from the AWS configuration chain; see <see cref="AwsKmsCmek.Open(string, AwsKmsOptions?)"/>.
/// </summary>
public sealed class AwsKmsCmekProviderFactory : ICmekProviderFactory
{
    /// <inheritdoc/>
    public string Scheme => AwsKmsCmek.Scheme;

    /// <inheritdoc/>
    public ICmekProvider Open(string uri) => AwsKmsCmek.Open(uri);
}
