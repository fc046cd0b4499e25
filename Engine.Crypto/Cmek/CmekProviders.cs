using System.Collections.Concurrent;

namespace Engine.Crypto;

/// <summary>
/// Opens a CMEK provider from its URI, so that a store can be reopened knowing only its directory (or
/// the URI in the application's configuration). Providers are found by URI scheme: the core registers
/// <c>file:</c> (<see cref="LocalKeyFileCmek"/>); provider packages bring a factory for theirs
/// (<c>aws-kms:</c> in <c>Engine.Cmek.AwsKms</c>, <c>pkcs11:</c> in <c>Engine.Cmek.Pkcs11</c>) that the
/// application registers once at start-up with <see cref="Register(ICmekProviderFactory)"/>.
/// </summary>
public static class CmekProviders
{
    /// <summary>The URI scheme of <see cref="LocalKeyFileCmek"/>.</summary>
    public const string FileScheme = "file";

    private static readonly ConcurrentDictionary<string, ICmekProviderFactory> s_factories = new(
        [new KeyValuePair<string, ICmekProviderFactory>(FileScheme, new LocalKeyFileCmekFactory())],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>The schemes that <see cref="Open(string)"/> knows now, in no particular order.</summary>
    public static IReadOnlyCollection<string> Schemes => [.. s_factories.Keys];

    /// <summary>
    /// Makes <see cref="Open(string)"/> open the URIs of <paramref name="factory"/>'s scheme. Registering a
    /// second factory of the same type for a scheme does nothing, so every start-up path may register.
    /// </summary>
    /// <param name="factory">The provider package's factory.</param>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    /// <exception cref="ArgumentException">The factory's scheme is empty or contains a colon.</exception>
    /// <exception cref="InvalidOperationException">Another kind of factory already owns the scheme (two
    /// packages claiming one scheme is a configuration error, not something to settle silently).</exception>
    public static void Register(ICmekProviderFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        string scheme = factory.Scheme;
        if (string.IsNullOrWhiteSpace(scheme) || scheme.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"a CMEK provider factory ({factory.GetType().FullName}) must name a scheme without a colon, got '{scheme}'", nameof(factory));
        }
        ICmekProviderFactory registered = s_factories.GetOrAdd(scheme, factory);
        if (registered.GetType() != factory.GetType())
        {
            throw new InvalidOperationException($"the CMEK scheme '{scheme}:' is already registered by {registered.GetType().FullName}; {factory.GetType().FullName} cannot take it over");
        }
    }

    /// <summary>True when a factory for <paramref name="scheme"/> (without the colon) is registered.</summary>
    /// <param name="scheme">A URI scheme such as <c>aws-kms</c>.</param>
    public static bool IsRegistered(string scheme) => !string.IsNullOrEmpty(scheme) && s_factories.ContainsKey(scheme);

    /// <summary>
    /// Opens the CMEK named by <paramref name="uri"/> through the factory registered for its scheme:
    /// <c>file:PATH</c> (or <c>file:///PATH</c>) opens a <see cref="LocalKeyFileCmek"/>, a relative PATH
    /// being resolved against the current directory; other schemes need their package's factory
    /// (see <see cref="Register(ICmekProviderFactory)"/>).
    /// </summary>
    /// <param name="uri">A CMEK URI such as <c>file:/etc/myapp/store.key</c> or
    /// <c>aws-kms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</c>.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The URI has no scheme, a scheme no registered factory opens
    /// (named in the message, with the registered ones), or is malformed for its scheme.</exception>
    /// <exception cref="KeyUnavailableException">The key itself cannot be opened (see
    /// <see cref="LocalKeyFileCmek.Open(string)"/>).</exception>
    public static ICmekProvider Open(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        int colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"'{uri}' is not a CMEK URI: expected SCHEME:..., for example 'file:PATH' (registered schemes: {Known()})", nameof(uri));
        }
        string scheme = uri[..colon];
        if (!s_factories.TryGetValue(scheme, out ICmekProviderFactory? factory))
        {
            throw new ArgumentException(
                $"unknown CMEK scheme '{scheme}' in '{uri}': registered are {Known()}; a key service's provider comes in its own package " +
                "(aws-kms: Engine.Cmek.AwsKms, pkcs11: Engine.Cmek.Pkcs11), registered at start-up with CmekProviders.Register(...)",
                nameof(uri));
        }
        return factory.Open(uri);
    }

    private static string Known() => string.Join(", ", s_factories.Keys.Order(StringComparer.Ordinal).Select(s => $"'{s}:'"));

    /// <summary>Opens <c>file:</c> URIs.</summary>
    private sealed class LocalKeyFileCmekFactory : ICmekProviderFactory
    {
        public string Scheme => FileScheme;

        public ICmekProvider Open(string uri)
        {
            string rest = uri[(uri.IndexOf(':', StringComparison.Ordinal) + 1)..];
            if (rest.StartsWith("//", StringComparison.Ordinal))
            {
                // file:///abs/path (empty authority) is accepted; file://host/path is not.
                if (!rest.StartsWith("///", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"'{uri}': file URIs with a host are not supported; use file:/absolute/path", nameof(uri));
                }
                rest = rest[2..];
            }
            if (rest.Length == 0)
            {
                throw new ArgumentException($"'{uri}' names no key file", nameof(uri));
            }
            return LocalKeyFileCmek.Open(Path.GetFullPath(rest));
        }
    }
}
