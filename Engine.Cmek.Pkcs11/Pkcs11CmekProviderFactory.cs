using Engine.Crypto;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// Opens <c>pkcs11:</c> URIs for <see cref="CmekProviders"/>; register it with <see cref="Pkcs11Cmek.Register"/>
/// (or <see cref="CmekProviders.Register(ICmekProviderFactory)"/>). See <see cref="Pkcs11Cmek.Open(string)"/>.
/// </summary>
public sealed class Pkcs11CmekProviderFactory : ICmekProviderFactory
{
    /// <inheritdoc/>
    public string Scheme => Pkcs11Cmek.Scheme;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The URI is malformed or unsupported; see <see cref="Pkcs11Cmek.Open(string)"/>.</exception>
    public ICmekProvider Open(string uri) => Pkcs11Cmek.Open(uri);
}
