using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Engine.KmsLocal;

/// <summary>
/// Checks that a request carries a well-formed AWS Signature Version 4 header, as AWS does
/// before anything else: <c>Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=host;x-amz-date;..., Signature=HEX64</c> plus an <c>X-Amz-Date</c> of the same
/// day. The signature itself is not verified (the local KMS has no secret keys to verify with).
/// </summary>
internal static class SigV4Check
{
    private const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The parts of the credential scope, for tests and STS session tracking.</summary>
    public sealed record Scope(string AccessKeyId, string Date, string Region, string Service, string? SessionToken);

    /// <exception cref="KmsError"><c>MissingAuthenticationTokenException</c> when there is no
    /// Authorization header, <c>IncompleteSignatureException</c> when it or X-Amz-Date is malformed
    /// or signs for another service.</exception>
    public static Scope Validate(HttpRequest request, string expectedService)
    {
        string? authorization = request.Headers.Authorization;
        if (string.IsNullOrWhiteSpace(authorization))
        {
            throw KmsError.MissingAuthenticationToken("Missing Authentication Token");
        }

        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            throw KmsError.IncompleteSignature($"Authorization header requires the {Algorithm} algorithm (Signature Version 4).");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in authorization[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw KmsError.IncompleteSignature($"Authorization header element '{part}' is not a key=value pair.");
            }

            fields[part[..eq]] = part[(eq + 1)..];
        }

        foreach (string required in (string[])["Credential", "SignedHeaders", "Signature"])
        {
            if (!fields.ContainsKey(required))
            {
                throw KmsError.IncompleteSignature($"Authorization header requires '{required}' parameter.");
            }
        }

        string[] credential = fields["Credential"].Split('/');
        if (credential.Length != 5 || credential[0].Length == 0 || credential[2].Length == 0 || credential[4] != "aws4_request"
            || !DateTime.TryParseExact(credential[1], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            throw KmsError.IncompleteSignature("Credential must have the form ACCESS_KEY_ID/yyyyMMdd/REGION/SERVICE/aws4_request.");
        }

        if (credential[3] != expectedService)
        {
            throw KmsError.IncompleteSignature($"Credential should be scoped to correct service: '{expectedService}', not '{credential[3]}'.");
        }

        string[] signed = fields["SignedHeaders"].Split(';');
        if (!signed.Contains("host") || !signed.Contains("x-amz-date"))
        {
            throw KmsError.IncompleteSignature("SignedHeaders must include host and x-amz-date.");
        }

        string signature = fields["Signature"];
        if (signature.Length != 64 || !signature.All(char.IsAsciiHexDigitLower))
        {
            throw KmsError.IncompleteSignature("Signature must be 64 lowercase hexadecimal digits.");
        }

        string? date = request.Headers["X-Amz-Date"];
        if (date is null || !DateTime.TryParseExact(date, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out _))
        {
            throw KmsError.IncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header (yyyyMMddTHHmmssZ).");
        }

        if (!date.StartsWith(credential[1], StringComparison.Ordinal))
        {
            throw KmsError.IncompleteSignature($"Credential date {credential[1]} does not match X-Amz-Date {date}.");
        }

        string? token = request.Headers["X-Amz-Security-Token"];
        return new Scope(credential[0], credential[1], credential[2], credential[3], string.IsNullOrEmpty(token) ? null : token);
    }
}
