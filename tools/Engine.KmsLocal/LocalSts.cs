using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml;

namespace Engine.KmsLocal;

/// <summary>
/// The one STS call a CMEK needs, <c>AssumeRole</c> (AWS Query protocol: form-encoded request,
/// XML answer), so that cross-account access with an external id can be rehearsed locally. A role
/// can be assumed only if it was trusted with <see cref="LocalKmsServer.TrustRole"/> and, when
/// the trust names an external id, only with that external id (else <c>AccessDenied</c>, 403).
/// </summary>
internal sealed class LocalSts(TimeProvider time)
{
    private const string Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";

    private readonly Dictionary<string, string?> _trust = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sessionKeys = new(StringComparer.Ordinal);
    private int _assumeRoleCount;

    public int AssumeRoleCount => Volatile.Read(ref _assumeRoleCount);

    public string? LastExternalId { get; private set; }

    public void Trust(string roleArn, string? externalId)
    {
        lock (_trust)
        {
            _trust[roleArn] = externalId;
        }
    }

    public bool IsSessionKey(string accessKeyId)
    {
        lock (_trust)
        {
            return _sessionKeys.Contains(accessKeyId);
        }
    }

    public byte[] Handle(IReadOnlyDictionary<string, string> form, string requestId)
    {
        Interlocked.Increment(ref _assumeRoleCount);
        string action = form.GetValueOrDefault("Action") ?? string.Empty;
        if (action != "AssumeRole")
        {
            throw new KmsError("InvalidAction", 400, $"Could not find operation {action} for version 2011-06-15");
        }

        string roleArn = form.GetValueOrDefault("RoleArn") ?? throw KmsError.Validation("RoleArn is required");
        string session = form.GetValueOrDefault("RoleSessionName") ?? throw KmsError.Validation("RoleSessionName is required");
        string? externalId = form.GetValueOrDefault("ExternalId");
        LastExternalId = externalId;
        int seconds = int.Parse(form.GetValueOrDefault("DurationSeconds") ?? "3600", CultureInfo.InvariantCulture);
        string accessKeyId;
        lock (_trust)
        {
            if (!_trust.TryGetValue(roleArn, out string? required) || (required is not null && required != externalId))
            {
                throw new KmsError("AccessDenied", 403, $"User is not authorized to perform: sts:AssumeRole on resource: {roleArn}");
            }

            accessKeyId = "ASIA" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
            _sessionKeys.Add(accessKeyId);
        }

        DateTimeOffset expires = time.GetUtcNow().AddSeconds(seconds);
        using var output = new MemoryStream();
        using (var xml = XmlWriter.Create(output, new XmlWriterSettings { Encoding = new UTF8Encoding(false) }))
        {
            xml.WriteStartElement("AssumeRoleResponse", Namespace);
            xml.WriteStartElement("AssumeRoleResult");
            xml.WriteStartElement("Credentials");
            xml.WriteElementString("AccessKeyId", accessKeyId);
            xml.WriteElementString("SecretAccessKey", Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)));
            xml.WriteElementString("SessionToken", Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)));
            xml.WriteElementString("Expiration", expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            xml.WriteEndElement();
            xml.WriteStartElement("AssumedRoleUser");
            xml.WriteElementString("Arn", AssumedRoleArn(roleArn, session));
            xml.WriteElementString("AssumedRoleId", "AROA" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + ":" + session);
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteStartElement("ResponseMetadata");
            xml.WriteElementString("RequestId", requestId);
            xml.WriteEndElement();
            xml.WriteEndElement();
        }

        return output.ToArray();
    }

    public static byte[] Error(KmsError error, string requestId)
    {
        using var output = new MemoryStream();
        using (var xml = XmlWriter.Create(output, new XmlWriterSettings { Encoding = new UTF8Encoding(false) }))
        {
            xml.WriteStartElement("ErrorResponse", Namespace);
            xml.WriteStartElement("Error");
            xml.WriteElementString("Type", error.Status >= 500 ? "Receiver" : "Sender");
            xml.WriteElementString("Code", error.Code);
            xml.WriteElementString("Message", error.Message);
            xml.WriteEndElement();
            xml.WriteElementString("RequestId", requestId);
            xml.WriteEndElement();
        }

        return output.ToArray();
    }

    private static string AssumedRoleArn(string roleArn, string session)
    {
        // arn:aws:iam::ACCOUNT:role/NAME -> arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
        string[] parts = roleArn.Split(':', 6);
        string name = parts.Length == 6 && parts[5].StartsWith("role/", StringComparison.Ordinal) ? parts[5]["role/".Length..] : "role";
        string account = parts.Length == 6 ? parts[4] : KmsKeyStore.Account;
        return $"arn:aws:sts::{account}:assumed-role/{name}/{session}";
    }
}
