using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;

namespace Engine.Tests.Kms;

/// <summary>The local endpoint driven by the real AWS SDK client and by raw HTTP.</summary>
public sealed class LocalKmsProtocolTests : IAsyncLifetime
{
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsTestServer.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task Sdk_client_creates_describes_lists_and_uses_a_key()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        CreateKeyResponse created = await client.CreateKeyAsync(new CreateKeyRequest { Description = "rehearsal" });
        KeyMetadata key = created.KeyMetadata;
        Assert.Equal(KeyState.Enabled, key.KeyState);
        Assert.StartsWith("arn:aws:kms:us-east-1:", key.Arn, StringComparison.Ordinal);

        DescribeKeyResponse described = await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.Arn });
        Assert.Equal(key.KeyId, described.KeyMetadata.KeyId);
        Assert.Equal("rehearsal", described.KeyMetadata.Description);
        Assert.True(described.KeyMetadata.Enabled);

        ListKeysResponse listed = await client.ListKeysAsync(new ListKeysRequest());
        Assert.Contains(listed.Keys, k => k.KeyId == key.KeyId);

        var context = new Dictionary<string, string> { ["ekv-store-id"] = "00ff" };
        byte[] secret = Encoding.UTF8.GetBytes("thirty-two bytes of test secret!");
        EncryptResponse encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = key.KeyId, Plaintext = new MemoryStream(secret), EncryptionContext = context });
        Assert.Equal(key.Arn, encrypted.KeyId);
        DecryptResponse decrypted = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, EncryptionContext = context });
        Assert.Equal(secret, decrypted.Plaintext.ToArray());

        GenerateDataKeyResponse dataKey = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = key.KeyId, KeySpec = DataKeySpec.AES_256, EncryptionContext = context });
        Assert.Equal(32, dataKey.Plaintext.Length);
        DecryptResponse again = await client.DecryptAsync(new DecryptRequest { KeyId = key.Arn, CiphertextBlob = dataKey.CiphertextBlob, EncryptionContext = context });
        Assert.Equal(dataKey.Plaintext.ToArray(), again.Plaintext.ToArray());
    }

    [Fact]
    public async Task Sdk_sees_aws_error_types_for_key_states()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        string keyId = _kms.CreateKey().KeyId;
        byte[] blob = (await client.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream(new byte[32]) })).CiphertextBlob.ToArray();

        await client.DisableKeyAsync(new DisableKeyRequest { KeyId = keyId });
        var disabled = await Assert.ThrowsAsync<DisabledException>(() => client.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        Assert.Equal(HttpStatusCode.Conflict, disabled.StatusCode);

        await client.EnableKeyAsync(new EnableKeyRequest { KeyId = keyId });
        ScheduleKeyDeletionResponse scheduled = await client.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = keyId, PendingWindowInDays = 7 });
        Assert.Equal(KeyState.PendingDeletion, scheduled.KeyState);
        var pending = await Assert.ThrowsAsync<KMSInvalidStateException>(() => client.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob) }));
        Assert.Equal(HttpStatusCode.Conflict, pending.StatusCode);
        await Assert.ThrowsAsync<KMSInvalidStateException>(() => client.EnableKeyAsync(new EnableKeyRequest { KeyId = keyId }));

        await client.CancelKeyDeletionAsync(new CancelKeyDeletionRequest { KeyId = keyId });
        Assert.Equal(KeyState.Disabled, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = keyId })).KeyMetadata.KeyState);

        await client.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = keyId, PendingWindowInDays = 7 });
        _kms.Time.Advance(TimeSpan.FromDays(8));
        var gone = await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = keyId }));
        Assert.Equal(HttpStatusCode.BadRequest, gone.StatusCode);

        await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = Guid.NewGuid().ToString() }));
        await Assert.ThrowsAsync<InvalidCiphertextException>(() => client.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream([1, 2, 3]) }));
    }

    [Fact]
    public async Task Schedule_deletion_window_is_checked_like_aws()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        string keyId = _kms.CreateKey().KeyId;
        var e = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = keyId, PendingWindowInDays = 3 }));
        Assert.Equal("ValidationException", e.ErrorCode);
    }

    [Fact]
    public async Task Unsigned_and_malformed_requests_are_rejected()
    {
        string keyId = _kms.CreateKey().KeyId;
        using var http = new HttpClient();

        (HttpStatusCode status, string type) = await Post(http, keyId, authorization: null);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("MissingAuthenticationTokenException", type);

        (status, type) = await Post(http, keyId, authorization: "Bearer abc");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("IncompleteSignatureException", type);

        string date = DateTime.UtcNow.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        string signature = new('a', 64);
        (_, type) = await Post(http, keyId, $"AWS4-HMAC-SHA256 Credential=AKID/{date}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}");
        Assert.Equal("IncompleteSignatureException", type);
        (_, type) = await Post(http, keyId, $"AWS4-HMAC-SHA256 Credential=AKID/{date}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=xyz");
        Assert.Equal("IncompleteSignatureException", type);
        (_, type) = await Post(http, keyId, $"AWS4-HMAC-SHA256 Credential=AKID/{date}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}", amzDate: false);
        Assert.Equal("IncompleteSignatureException", type);

        // Well formed (the signature is not verified): the operation runs.
        (status, type) = await Post(http, keyId, $"AWS4-HMAC-SHA256 Credential=AKID/{date}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={signature}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(string.Empty, type);
    }

    [Fact]
    public async Task Keys_persist_in_a_private_file_and_survive_a_restart()
    {
        string keyId = _kms.CreateKey("persisted").KeyId;
        using AmazonKeyManagementServiceClient client = _kms.Client();
        byte[] blob = (await client.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream([7, 7, 7]) })).CiphertextBlob.ToArray();
        string file = Path.Combine(_kms.Server.DataDir, "keys.json");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        await using Engine.KmsLocal.LocalKmsServer second = await Engine.KmsLocal.LocalKmsServer.StartAsync(_kms.Server.DataDir);
        using var client2 = new AmazonKeyManagementServiceClient(KmsTestServer.Credentials, new AmazonKeyManagementServiceConfig
        {
            ServiceURL = second.Endpoint.OriginalString,
            AuthenticationRegion = KmsTestServer.Region,
            MaxErrorRetry = 0,
        });
        DecryptResponse decrypted = await client2.DecryptAsync(new DecryptRequest { KeyId = keyId, CiphertextBlob = new MemoryStream(blob) });
        Assert.Equal(new byte[] { 7, 7, 7 }, decrypted.Plaintext.ToArray());
    }

    [Fact]
    public async Task Operator_commands_reach_a_running_server()
    {
        Engine.KmsLocal.LocalKmsKey key = Engine.KmsLocal.LocalKmsTool.CreateKey(_kms.Server.DataDir, "from the CLI");
        using AmazonKeyManagementServiceClient client = _kms.Client();
        Assert.Equal(KeyState.Enabled, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.KeyId })).KeyMetadata.KeyState);

        Engine.KmsLocal.LocalKmsTool.DisableKey(_kms.Server.DataDir, key.KeyId);
        Assert.Equal(KeyState.Disabled, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.Arn })).KeyMetadata.KeyState);
        Engine.KmsLocal.LocalKmsTool.EnableKey(_kms.Server.DataDir, key.KeyId);
        Engine.KmsLocal.LocalKmsTool.ScheduleDeletion(_kms.Server.DataDir, key.KeyId, 0);
        await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.KeyId }));
        var e = Assert.Throws<InvalidOperationException>(() => Engine.KmsLocal.LocalKmsTool.EnableKey(_kms.Server.DataDir, key.KeyId));
        Assert.StartsWith("NotFoundException", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Engine.KmsLocal.LocalKmsTool.ListKeys(_kms.Server.DataDir), k => k.KeyId == key.KeyId);
    }

    private async Task<(HttpStatusCode Status, string Type)> Post(HttpClient http, string keyId, string? authorization, bool amzDate = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _kms.Server.Endpoint);
        request.Content = new StringContent($"{{\"KeyId\":\"{keyId}\"}}", Encoding.UTF8, "application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "TrentService.DescribeKey");
        if (amzDate)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Date", DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        using JsonDocument body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string type = body.RootElement.TryGetProperty("__type", out JsonElement t) ? t.GetString()! : string.Empty;
        return (response.StatusCode, type);
    }
}
