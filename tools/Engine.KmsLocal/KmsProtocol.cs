using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Engine.KmsLocal;

/// <summary>
/// The AWS KMS JSON 1.1 operations (<c>X-Amz-Target: TrentService.&lt;Op&gt;</c>): reads the
/// request members AWS defines (blobs as base64 strings), writes the response members the SDKs
/// read (timestamps as epoch seconds). Errors are thrown as <see cref="KmsError"/>.
/// </summary>
internal sealed class KmsProtocol(KmsKeyOperations keys)
{
    public static readonly IReadOnlySet<string> Operations = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreateKey", "DescribeKey", "ListKeys", "Encrypt", "Decrypt", "GenerateDataKey",
        "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
        "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
    };

    public byte[] Handle(string operation, JsonElement request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            switch (operation)
            {
                case "CreateKey":
                    CreateKey(request, json);
                    break;
                case "DescribeKey":
                    WriteMetadata(json, keys.Describe(RequiredString(request, "KeyId")));
                    break;
                case "ListKeys":
                    ListKeys(request, json);
                    break;
                case "Encrypt":
                    Encrypt(request, json);
                    break;
                case "Decrypt":
                    Decrypt(request, json);
                    break;
                case "GenerateDataKey":
                    GenerateDataKey(request, json);
                    break;
                case "EnableKey":
                    keys.Enable(RequiredString(request, "KeyId"));
                    break;
                case "DisableKey":
                    keys.Disable(RequiredString(request, "KeyId"));
                    break;
                case "ScheduleKeyDeletion":
                    ScheduleKeyDeletion(request, json);
                    break;
                case "CancelKeyDeletion":
                    json.WriteString("KeyId", keys.CancelDeletion(RequiredString(request, "KeyId")).Arn);
                    break;
                case "CreateAlias":
                    // AWS answers an empty body for the three alias changes.
                    keys.CreateAlias(OptionalString(request, "AliasName"), RequiredString(request, "TargetKeyId"));
                    break;
                case "UpdateAlias":
                    keys.UpdateAlias(OptionalString(request, "AliasName"), RequiredString(request, "TargetKeyId"));
                    break;
                case "DeleteAlias":
                    keys.DeleteAlias(OptionalString(request, "AliasName"));
                    break;
                case "ListAliases":
                    ListAliases(request, json);
                    break;
                default:
                    throw KmsError.UnknownOperation($"operation {operation} is not supported by the local KMS");
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void CreateKey(JsonElement request, Utf8JsonWriter json)
    {
        string usage = OptionalString(request, "KeyUsage") ?? "ENCRYPT_DECRYPT";
        string spec = OptionalString(request, "KeySpec") ?? OptionalString(request, "CustomerMasterKeySpec") ?? "SYMMETRIC_DEFAULT";
        if (usage != "ENCRYPT_DECRYPT" || spec != "SYMMETRIC_DEFAULT")
        {
            throw KmsError.UnsupportedOperation($"the local KMS creates only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys, not {spec} {usage}");
        }

        WriteMetadata(json, keys.Create(OptionalString(request, "Description")));
    }

    private void ListKeys(JsonElement request, Utf8JsonWriter json)
    {
        (IReadOnlyList<LocalKmsKey> page, string? next) = keys.ListPage(OptionalInt(request, "Limit"), OptionalString(request, "Marker"));
        json.WriteStartArray("Keys");
        foreach (LocalKmsKey key in page)
        {
            json.WriteStartObject();
            json.WriteString("KeyArn", key.Arn);
            json.WriteString("KeyId", key.KeyId);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WritePaging(json, next);
    }

    private void ListAliases(JsonElement request, Utf8JsonWriter json)
    {
        (IReadOnlyList<LocalKmsAlias> page, string? next) = keys.ListAliasesPage(
            OptionalString(request, "KeyId"), OptionalInt(request, "Limit"), OptionalString(request, "Marker"));
        json.WriteStartArray("Aliases");
        foreach (LocalKmsAlias alias in page)
        {
            json.WriteStartObject();
            json.WriteString("AliasName", alias.Name);
            json.WriteString("AliasArn", alias.Arn);
            json.WriteString("TargetKeyId", alias.TargetKeyId);
            json.WriteNumber("CreationDate", EpochSeconds(alias.CreationDate));
            json.WriteNumber("LastUpdatedDate", EpochSeconds(alias.LastUpdatedDate));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WritePaging(json, next);
    }

    /// <summary><c>Truncated</c>, and <c>NextMarker</c> only when there is a next page, as AWS writes them.</summary>
    private static void WritePaging(Utf8JsonWriter json, string? next)
    {
        if (next is not null)
        {
            json.WriteString("NextMarker", next);
        }

        json.WriteBoolean("Truncated", next is not null);
    }

    private static double EpochSeconds(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / 1000.0;

    private void Encrypt(JsonElement request, Utf8JsonWriter json)
    {
        byte[] plaintext = RequiredBlob(request, "Plaintext");
        try
        {
            if (plaintext.Length is 0 or > KmsCiphertext.MaxPlaintext)
            {
                throw KmsError.Validation($"1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and {KmsCiphertext.MaxPlaintext}");
            }

            CheckAlgorithm(request);
            IReadOnlyDictionary<string, string> context = Context(request);
            (byte[] blob, string arn) = keys.UseKey(RequiredString(request, "KeyId"), key => (KmsCiphertext.Seal(key, plaintext, context), KmsKeyStore.ArnOf(key.KeyId, keys.Region)));
            json.WriteBase64String("CiphertextBlob", blob);
            json.WriteString("KeyId", arn);
            json.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private void Decrypt(JsonElement request, Utf8JsonWriter json)
    {
        byte[] blob = RequiredBlob(request, "CiphertextBlob");
        CheckAlgorithm(request);
        (byte[] plaintext, string arn) = keys.Decrypt(blob, OptionalString(request, "KeyId"), Context(request));
        try
        {
            json.WriteString("KeyId", arn);
            json.WriteBase64String("Plaintext", plaintext);
            json.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private void GenerateDataKey(JsonElement request, Utf8JsonWriter json)
    {
        string? spec = OptionalString(request, "KeySpec");
        int? count = request.TryGetProperty("NumberOfBytes", out JsonElement n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : null;
        int size = (spec, count) switch
        {
            ("AES_256", null) => 32,
            ("AES_128", null) => 16,
            (null, int bytes) when bytes is >= 1 and <= 1024 => bytes,
            _ => throw KmsError.Validation("Please specify either number of bytes or key spec (AES_256 or AES_128), not both."),
        };
        IReadOnlyDictionary<string, string> context = Context(request);
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);
        try
        {
            (byte[] blob, string arn) = keys.UseKey(RequiredString(request, "KeyId"), key => (KmsCiphertext.Seal(key, plaintext, context), KmsKeyStore.ArnOf(key.KeyId, keys.Region)));
            json.WriteBase64String("CiphertextBlob", blob);
            json.WriteBase64String("Plaintext", plaintext);
            json.WriteString("KeyId", arn);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private void ScheduleKeyDeletion(JsonElement request, Utf8JsonWriter json)
    {
        int? days = request.TryGetProperty("PendingWindowInDays", out JsonElement d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : null;
        LocalKmsKey key = keys.ScheduleDeletion(RequiredString(request, "KeyId"), days);
        json.WriteString("KeyId", key.Arn);
        json.WriteNumber("DeletionDate", key.DeletionDate!.Value.ToUnixTimeMilliseconds() / 1000.0);
        json.WriteString("KeyState", key.State);
        json.WriteNumber("PendingWindowInDays", days ?? KmsKeyOperations.MaxPendingDays);
    }

    private static void WriteMetadata(Utf8JsonWriter json, LocalKmsKey key)
    {
        json.WriteStartObject("KeyMetadata");
        json.WriteString("AWSAccountId", KmsKeyStore.Account);
        json.WriteString("KeyId", key.KeyId);
        json.WriteString("Arn", key.Arn);
        json.WriteNumber("CreationDate", key.CreationDate.ToUnixTimeMilliseconds() / 1000.0);
        json.WriteBoolean("Enabled", key.State == KmsKeyStore.Enabled);
        json.WriteString("Description", key.Description);
        json.WriteString("KeyUsage", "ENCRYPT_DECRYPT");
        json.WriteString("KeyState", key.State);
        if (key.DeletionDate is DateTimeOffset deletion)
        {
            json.WriteNumber("DeletionDate", deletion.ToUnixTimeMilliseconds() / 1000.0);
        }

        json.WriteString("Origin", "AWS_KMS");
        json.WriteString("KeyManager", "CUSTOMER");
        json.WriteString("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT");
        json.WriteString("KeySpec", "SYMMETRIC_DEFAULT");
        json.WriteStartArray("EncryptionAlgorithms");
        json.WriteStringValue("SYMMETRIC_DEFAULT");
        json.WriteEndArray();
        json.WriteBoolean("MultiRegion", false);
        json.WriteEndObject();
    }

    private static void CheckAlgorithm(JsonElement request)
    {
        string? algorithm = OptionalString(request, "EncryptionAlgorithm");
        if (algorithm is not null and not "SYMMETRIC_DEFAULT")
        {
            throw new KmsError("InvalidKeyUsageException", 400, $"{algorithm} is not supported by a SYMMETRIC_DEFAULT key");
        }
    }

    private static Dictionary<string, string> Context(JsonElement request)
    {
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.TryGetProperty("EncryptionContext", out JsonElement map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty pair in map.EnumerateObject())
            {
                context[pair.Name] = pair.Value.ValueKind == JsonValueKind.String
                    ? pair.Value.GetString()!
                    : throw KmsError.Serialization("EncryptionContext values must be strings");
            }
        }

        return context;
    }

    private static string RequiredString(JsonElement request, string name) =>
        OptionalString(request, name) ?? throw KmsError.Validation($"1 validation error detected: Value null at '{char.ToLowerInvariant(name[0])}{name[1..]}' failed to satisfy constraint: Member must not be null");

    private static int? OptionalInt(JsonElement request, string name)
    {
        if (!request.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number)
            ? number
            : throw KmsError.Serialization($"{name} must be an integer");
    }

    private static string? OptionalString(JsonElement request, string name)
    {
        if (!request.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw KmsError.Serialization($"{name} must be a string");
    }

    private static byte[] RequiredBlob(JsonElement request, string name)
    {
        string text = RequiredString(request, name);
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw KmsError.Serialization($"{name} is not valid base64");
        }
    }
}
