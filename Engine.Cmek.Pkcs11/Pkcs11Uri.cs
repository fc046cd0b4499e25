using System.Text;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// What a <c>pkcs11:</c> URI (RFC 7512) says: which token, which key object, which module, where the PIN is.
/// Never holds the PIN itself.
/// </summary>
internal sealed record Pkcs11UriParts
{
    /// <summary>CKA_LABEL of the token (<c>token=</c>), required.</summary>
    public required string Token { get; init; }

    /// <summary>The token's serial number (<c>serial=</c>), or null: narrows the token when labels repeat.</summary>
    public string? Serial { get; init; }

    /// <summary>CKA_LABEL of the key (<c>object=</c>), or null when <see cref="Id"/> names it.</summary>
    public string? Object { get; init; }

    /// <summary>CKA_ID of the key (<c>id=</c>, percent-encoded bytes), or null.</summary>
    public byte[]? Id { get; init; }

    /// <summary>The PKCS#11 module to load (<c>module-path=</c>), required.</summary>
    public required string ModulePath { get; init; }

    /// <summary>The file holding the user PIN (<c>pin-source=file:PATH</c>), required.</summary>
    public required string PinFile { get; init; }
}

/// <summary>
/// Parses and formats <c>pkcs11:token=T;object=O?module-path=/usr/lib/softhsm/libsofthsm2.so&amp;pin-source=file:/path</c>.
/// Path attributes (<c>;</c>-separated): <c>token</c> (required), <c>object</c> and/or <c>id</c> (one required),
/// <c>serial</c>, <c>type</c> (only <c>secret-key</c>). Query attributes (<c>&amp;</c>-separated): <c>module-path</c>
/// and <c>pin-source</c> (both required). Values are percent-decoded (RFC 7512 section 2.3).
/// </summary>
/// <remarks>
/// <c>pin-value</c> is refused: the URI is kept in plaintext in the store's key registry (so that the store
/// reopens from its directory), and a PIN must never be written there. Other RFC 7512 attributes
/// (<c>manufacturer</c>, <c>model</c>, <c>slot-id</c>, <c>module-name</c>, ...) are refused too, so that a
/// typo or an unsupported selector cannot silently pick another token or key. Error messages never repeat
/// the URI (it may carry a PIN the caller put there by mistake); they name the attribute.
/// </remarks>
internal static class Pkcs11Uri
{
    private const string Prefix = Pkcs11Cmek.Scheme + ":";

    public static Pkcs11UriParts Parse(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (!uri.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("not a PKCS#11 CMEK URI: expected 'pkcs11:token=T;object=O?module-path=PATH&pin-source=file:PATH'", nameof(uri));
        }

        string rest = uri[Prefix.Length..];
        int question = rest.IndexOf('?', StringComparison.Ordinal);
        string path = question < 0 ? rest : rest[..question];
        string query = question < 0 ? string.Empty : rest[(question + 1)..];

        string? token = null, serial = null, label = null, modulePath = null, pinFile = null;
        byte[]? id = null;
        foreach ((string name, string value) in Attributes(path, ';'))
        {
            switch (name)
            {
                case "token":
                    token = Once(token, name, value);
                    break;
                case "serial":
                    serial = Once(serial, name, value);
                    break;
                case "object":
                    label = Once(label, name, value);
                    break;
                case "id":
                    if (id is not null)
                    {
                        throw Duplicate(name);
                    }

                    id = DecodeBytes(path, name);
                    break;
                case "type":
                    if (!string.Equals(value, "secret-key", StringComparison.Ordinal))
                    {
                        throw new ArgumentException($"pkcs11: URI: 'type={value}' is not supported; the CMEK is an AES key, type=secret-key", nameof(uri));
                    }

                    break;
                default:
                    throw Unknown(name);
            }
        }

        foreach ((string name, string value) in Attributes(query, '&'))
        {
            switch (name)
            {
                case "module-path":
                    modulePath = Once(modulePath, name, value);
                    break;
                case "pin-source":
                    pinFile = Once(pinFile, name, PinSourcePath(value));
                    break;
                case "pin-value":
                    throw new ArgumentException(
                        "pkcs11: URI: 'pin-value' is refused: the URI is stored in plaintext in the store's key registry; put the PIN in a file readable only by the application and name it with pin-source=file:PATH",
                        nameof(uri));
                default:
                    throw Unknown(name);
            }
        }

        if (token is null)
        {
            throw new ArgumentException("pkcs11: URI names no token: add the path attribute 'token=LABEL'", nameof(uri));
        }

        if (label is null && id is null)
        {
            throw new ArgumentException("pkcs11: URI names no key: add the path attribute 'object=LABEL' (or 'id=%01%02...')", nameof(uri));
        }

        if (modulePath is null)
        {
            throw new ArgumentException("pkcs11: URI names no module: add the query attribute 'module-path=/path/to/module.so'", nameof(uri));
        }

        if (pinFile is null)
        {
            throw new ArgumentException("pkcs11: URI names no PIN: add the query attribute 'pin-source=file:/path/to/pin-file'", nameof(uri));
        }

        return new Pkcs11UriParts { Token = token, Serial = serial, Object = label, Id = id, ModulePath = modulePath, PinFile = pinFile };
    }

    /// <summary>The URI that reopens the same key the same way, in a fixed attribute order; never holds a PIN.</summary>
    public static string Format(Pkcs11UriParts parts)
    {
        var text = new StringBuilder(Prefix).Append("token=").Append(Escape(parts.Token));
        if (parts.Serial is not null)
        {
            text.Append(";serial=").Append(Escape(parts.Serial));
        }

        if (parts.Object is not null)
        {
            text.Append(";object=").Append(Escape(parts.Object));
        }

        if (parts.Id is not null)
        {
            text.Append(";id=");
            foreach (byte b in parts.Id)
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        text.Append(";type=secret-key?module-path=").Append(Escape(parts.ModulePath))
            .Append("&pin-source=").Append(Escape("file:" + parts.PinFile));
        return text.ToString();
    }

    private static IEnumerable<(string Name, string Value)> Attributes(string part, char separator)
    {
        foreach (string pair in part.Split(separator, StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? pair : pair[..eq];
            if (eq < 0 || eq == pair.Length - 1)
            {
                throw new ArgumentException($"pkcs11: URI: attribute '{name}' has no value");
            }

            yield return (name.ToLowerInvariant(), Uri.UnescapeDataString(pair[(eq + 1)..]));
        }
    }

    private static byte[] DecodeBytes(string path, string name)
    {
        // The raw (still percent-encoded) value: an id is bytes, not text.
        string raw = path.Split(';').First(p => p.StartsWith(name + "=", StringComparison.OrdinalIgnoreCase))[(name.Length + 1)..];
        var bytes = new List<byte>();
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '%' && i + 2 < raw.Length && Uri.IsHexDigit(raw[i + 1]) && Uri.IsHexDigit(raw[i + 2]))
            {
                bytes.Add(Convert.ToByte(raw.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(raw[i].ToString()));
            }
        }

        return [.. bytes];
    }

    private static string PinSourcePath(string value)
    {
        // RFC 7512 leaves pin-source's form to the application; we take a file: URI or a bare absolute path.
        string path = value.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? value[5..] : value;
        if (path.StartsWith("///", StringComparison.Ordinal))
        {
            path = path[2..];
        }

        if (!Path.IsPathFullyQualified(path))
        {
            throw new ArgumentException("pkcs11: URI: pin-source must name a PIN file by absolute path (pin-source=file:/path/to/pin-file)");
        }

        return path;
    }

    private static string Once(string? existing, string name, string value) => existing is null ? value : throw Duplicate(name);

    private static ArgumentException Duplicate(string name) => new($"pkcs11: URI: attribute '{name}' appears twice");

    private static ArgumentException Unknown(string name) => new(
        $"pkcs11: URI: attribute '{name}' is not supported; supported are token, serial, object, id, type (path) and module-path, pin-source (query)");

    private static string Escape(string value) => Uri.EscapeDataString(value).Replace("%2F", "/", StringComparison.Ordinal).Replace("%3A", ":", StringComparison.Ordinal);
}
