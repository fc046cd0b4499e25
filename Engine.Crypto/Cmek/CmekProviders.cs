namespace Engine.Crypto;

/// <summary>
/// Opens a CMEK provider from the URI recorded in a store's key registry, so that a store can
/// be reopened knowing only its directory.
/// </summary>
public static class CmekProviders
{
    /// <summary>The URI scheme of <see cref="LocalKeyFileCmek"/>.</summary>
    public const string FileScheme = "file";

    /// <summary>The URI scheme of <see cref="AwsKmsCmek"/>.</summary>
    public const string AwsKmsScheme = "aws-kms";

    /// <summary>
    /// Opens the CMEK named by <paramref name="uri"/>: <c>file:PATH</c> (or <c>file:///PATH</c>)
    /// opens a <see cref="LocalKeyFileCmek"/>, a relative PATH being resolved against the current
    /// directory; <c>aws-kms:KEY?region=R&amp;endpoint=URL&amp;role=ROLE_ARN&amp;external-id=X</c>
    /// opens an <see cref="AwsKmsCmek"/> (credentials from the AWS configuration chain; see
    /// <see cref="AwsKmsCmek.Open(string, AwsKmsOptions?)"/>).
    /// </summary>
    /// <param name="uri">A CMEK URI such as <c>file:/etc/myapp/store.key</c> or
    /// <c>aws-kms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</c>.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The URI has no scheme, an unknown scheme (named in
    /// the message), an empty path or key, or (<c>aws-kms:</c>) an unknown parameter.</exception>
    /// <exception cref="KeyUnavailableException">The key itself cannot be opened (see
    /// <see cref="LocalKeyFileCmek.Open(string)"/>).</exception>
    public static ICmekProvider Open(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        int colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"'{uri}' is not a CMEK URI: expected 'file:PATH' or 'aws-kms:...'", nameof(uri));
        }

        string scheme = uri[..colon];
        string rest = uri[(colon + 1)..];
        if (scheme.Equals(FileScheme, StringComparison.OrdinalIgnoreCase))
        {
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

        if (scheme.Equals(AwsKmsScheme, StringComparison.OrdinalIgnoreCase))
        {
            return AwsKmsCmek.Open(uri);
        }

        throw new ArgumentException($"unknown CMEK scheme '{scheme}' in '{uri}': supported are 'file:' and '{AwsKmsScheme}:'", nameof(uri));
    }
}
