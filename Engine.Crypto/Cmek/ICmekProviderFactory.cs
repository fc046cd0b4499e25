namespace Engine.Crypto;

/// <summary>
/// Opens the CMEK providers of one URI scheme. The core knows <c>file:</c>; a provider package (for
/// example <c>Engine.Cmek.AwsKms</c> for <c>aws-kms:</c>) brings its factory, which the application
/// registers once with <see cref="CmekProviders.Register(ICmekProviderFactory)"/>, so an application that
/// does not use a key service never loads its SDK.
/// </summary>
/// <remarks>Implementations must be thread-safe: <see cref="Open"/> may be called concurrently (a store
/// reopening after a lock while another store opens).</remarks>
public interface ICmekProviderFactory
{
    /// <summary>The URI scheme this factory opens, without the colon (for example <c>aws-kms</c>); compared
    /// case-insensitively.</summary>
    string Scheme { get; }

    /// <summary>Opens the provider named by <paramref name="uri"/>, whose scheme is <see cref="Scheme"/>.</summary>
    /// <param name="uri">The whole URI, scheme included.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The URI is malformed for this scheme (the message names what is wrong).</exception>
    /// <exception cref="KeyUnavailableException">The key itself cannot be opened.</exception>
    ICmekProvider Open(string uri);
}
