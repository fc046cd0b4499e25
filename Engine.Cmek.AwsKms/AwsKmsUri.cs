using System.Text;
using Engine.Crypto;

namespace Engine.Cmek.AwsKms;

/// <summary>
/// Parses and formats <c>aws-kms:KEY?region=R&amp;endpoint=URL&amp;role=ROLE_ARN&amp;external-id=X&amp;sts-endpoint=URL</c>.
/// KEY is a key ARN, key id or alias, taken verbatim up to the first <c>?</c>; parameter values
/// are percent-decoded. Unknown parameters are refused so that a typo cannot silently drop a
/// setting.
/// </summary>
internal static class AwsKmsUri
{
    private const string Prefix = AwsKmsCmek.Scheme + ":";

    public static AwsKmsOptions Parse(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (!uri.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{uri}' is not an AWS KMS CMEK URI: expected '{Prefix}KEY_ARN?region=...'", nameof(uri));
        }

        string rest = uri[Prefix.Length..];
        int question = rest.IndexOf('?', StringComparison.Ordinal);
        string key = question < 0 ? rest : rest[..question];
        if (key.StartsWith("//", StringComparison.Ordinal))
        {
            key = key[2..];
        }

        if (key.Length == 0)
        {
            throw new ArgumentException($"'{uri}' names no KMS key: expected '{Prefix}arn:aws:kms:REGION:ACCOUNT:key/ID'", nameof(uri));
        }

        var options = new AwsKmsOptions { KeyId = key };
        if (question < 0)
        {
            return options;
        }

        foreach (string pair in rest[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (value.Length == 0)
            {
                throw new ArgumentException($"'{uri}': parameter '{name}' has no value", nameof(uri));
            }

            switch (name.ToUpperInvariant())
            {
                case "REGION":
                    options.Region = value;
                    break;
                case "ENDPOINT":
                    options.Endpoint = ParseEndpoint(uri, name, value);
                    break;
                case "ROLE":
                    options.RoleArn = value;
                    break;
                case "EXTERNAL-ID":
                    options.ExternalId = value;
                    break;
                case "STS-ENDPOINT":
                    options.StsEndpoint = ParseEndpoint(uri, name, value);
                    break;
                default:
                    throw new ArgumentException(
                        $"'{uri}': unknown parameter '{name}'; supported are region, endpoint, role, external-id, sts-endpoint (credentials never go into the URI)",
                        nameof(uri));
            }
        }

        return options;
    }

    /// <summary>The URI that reopens the same key the same way; never contains credentials.</summary>
    public static string Format(AwsKmsOptions options)
    {
        var text = new StringBuilder(Prefix).Append(options.KeyId);
        char separator = '?';
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                text.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
                separator = '&';
            }
        }

        Add("region", options.Region);
        Add("endpoint", options.Endpoint?.OriginalString);
        Add("role", options.RoleArn);
        Add("external-id", options.ExternalId);
        Add("sts-endpoint", options.StsEndpoint?.OriginalString);
        return text.ToString();
    }

    /// <summary>The region of a key or alias ARN (<c>arn:PARTITION:kms:REGION:ACCOUNT:...</c>), or null.</summary>
    public static string? RegionOfArn(string keyId)
    {
        string[] parts = keyId.Split(':');
        return parts.Length >= 6 && parts[0] == "arn" && parts[2] == "kms" && parts[3].Length > 0 ? parts[3] : null;
    }

    private static Uri ParseEndpoint(string uri, string name, string value)
    {
        if (!System.Uri.TryCreate(value, UriKind.Absolute, out Uri? endpoint) || (endpoint.Scheme != System.Uri.UriSchemeHttps && endpoint.Scheme != System.Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"'{uri}': {name} '{value}' is not an http(s) URL", nameof(uri));
        }

        return endpoint;
    }
}
