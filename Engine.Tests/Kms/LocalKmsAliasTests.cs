using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Engine.Cmek.AwsKms;
using Engine.Crypto;
using Engine.KmsLocal;

namespace Engine.Tests.Kms;

/// <summary>
/// Aliases, paging and regions of the local KMS endpoint, driven by the real AWS SDK for .NET and by
/// the stock AWS CLI, as a user of either would drive AWS KMS.
/// </summary>
public sealed class LocalKmsAliasTests : IAsyncLifetime
{
    private KmsTestServer _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsTestServer.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task Sdk_alias_names_and_alias_arns_work_wherever_aws_accepts_a_key_id()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        KeyMetadata key = (await client.CreateKeyAsync(new CreateKeyRequest { Description = "aliased" })).KeyMetadata;
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/ekv-app", TargetKeyId = key.KeyId });
        string aliasArn = $"arn:aws:kms:{KmsTestServer.Region}:{key.AWSAccountId}:alias/ekv-app";

        ListAliasesResponse listed = await client.ListAliasesAsync(new ListAliasesRequest());
        AliasListEntry entry = Assert.Single(listed.Aliases);
        Assert.Equal("alias/ekv-app", entry.AliasName);
        Assert.Equal(aliasArn, entry.AliasArn);
        Assert.Equal(key.KeyId, entry.TargetKeyId);
        Assert.NotNull(entry.CreationDate);
        Assert.NotNull(entry.LastUpdatedDate);
        Assert.False(listed.Truncated);

        Assert.Equal(key.KeyId, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/ekv-app" })).KeyMetadata.KeyId);
        Assert.Equal(key.KeyId, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = aliasArn })).KeyMetadata.KeyId);

        var context = new Dictionary<string, string> { ["ekv-store-id"] = "0a0b" };
        byte[] secret = Encoding.UTF8.GetBytes("wrapped under an alias");
        EncryptResponse encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = "alias/ekv-app", Plaintext = new MemoryStream(secret), EncryptionContext = context });
        Assert.Equal(key.Arn, encrypted.KeyId); // AWS answers with the key ARN, not the alias.
        DecryptResponse decrypted = await client.DecryptAsync(new DecryptRequest { KeyId = aliasArn, CiphertextBlob = encrypted.CiphertextBlob, EncryptionContext = context });
        Assert.Equal(secret, decrypted.Plaintext.ToArray());
        Assert.Equal(key.Arn, decrypted.KeyId);

        GenerateDataKeyResponse dataKey = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = aliasArn, KeySpec = DataKeySpec.AES_256 });
        Assert.Equal(key.Arn, dataKey.KeyId);
        DecryptResponse unwrapped = await client.DecryptAsync(new DecryptRequest { KeyId = "alias/ekv-app", CiphertextBlob = dataKey.CiphertextBlob });
        Assert.Equal(dataKey.Plaintext.ToArray(), unwrapped.Plaintext.ToArray());

        // Key-state changes take a key id or key ARN only, as in AWS.
        await Assert.ThrowsAsync<NotFoundException>(() => client.DisableKeyAsync(new DisableKeyRequest { KeyId = "alias/ekv-app" }));
        await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/no-such-alias" }));
    }

    [Fact]
    public async Task Sdk_alias_rules_and_errors_are_awss()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        string first = _kms.CreateKey("first").KeyId;
        string second = _kms.CreateKey("second").KeyId;
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/app", TargetKeyId = first });

        var exists = await Assert.ThrowsAsync<AlreadyExistsException>(() => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/app", TargetKeyId = second }));
        Assert.Equal(HttpStatusCode.BadRequest, exists.StatusCode);
        await Assert.ThrowsAsync<InvalidAliasNameException>(() => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/aws/app", TargetKeyId = first }));
        await Assert.ThrowsAsync<InvalidAliasNameException>(() => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/", TargetKeyId = first }));
        Assert.Equal("ValidationException", (await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "app", TargetKeyId = first }))).ErrorCode);
        // Built at run time: the SDK's analyzer rejects a literal that breaks the pattern; the server must too.
        string withSpace = string.Join(' ', "alias/has", "space");
        Assert.Equal("ValidationException", (await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.CreateAliasAsync(new CreateAliasRequest { AliasName = withSpace, TargetKeyId = first }))).ErrorCode);
        Assert.Equal("ValidationException", (await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/" + new string('a', 251), TargetKeyId = first }))).ErrorCode);
        Assert.Equal("ValidationException", (await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/of-an-alias", TargetKeyId = "alias/app" }))).ErrorCode);
        await Assert.ThrowsAsync<NotFoundException>(() => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/nobody", TargetKeyId = Guid.NewGuid().ToString() }));
        await Assert.ThrowsAsync<NotFoundException>(() => client.DeleteAliasAsync(new DeleteAliasRequest { AliasName = "alias/nobody" }));
        await Assert.ThrowsAsync<NotFoundException>(() => client.UpdateAliasAsync(new UpdateAliasRequest { AliasName = "alias/nobody", TargetKeyId = second }));
        // 250 characters after the prefix make 256 in all: the longest name AWS allows.
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/" + new string('a', 250), TargetKeyId = first });

        // One alias names one key: UpdateAlias moves it, and a blob of the first key no longer decrypts "by the alias".
        byte[] blob = (await client.EncryptAsync(new EncryptRequest { KeyId = "alias/app", Plaintext = new MemoryStream([1, 2, 3]) })).CiphertextBlob.ToArray();
        await client.UpdateAliasAsync(new UpdateAliasRequest { AliasName = "alias/app", TargetKeyId = KmsKeyStore.ArnOf(second, KmsTestServer.Region) });
        Assert.Equal(second, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/app" })).KeyMetadata.KeyId);
        await Assert.ThrowsAsync<IncorrectKeyException>(() => client.DecryptAsync(new DecryptRequest { KeyId = "alias/app", CiphertextBlob = new MemoryStream(blob) }));
        Assert.Equal(second, Assert.Single((await client.ListAliasesAsync(new ListAliasesRequest { KeyId = second })).Aliases).TargetKeyId);
        Assert.Single((await client.ListAliasesAsync(new ListAliasesRequest { KeyId = first })).Aliases); // the 256-character one

        // A key pending deletion takes no alias; once destroyed, its aliases are gone and the name is free.
        await client.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { KeyId = second, PendingWindowInDays = 7 });
        await Assert.ThrowsAsync<KMSInvalidStateException>(() => client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/late", TargetKeyId = second }));
        Assert.Contains((await client.ListAliasesAsync(new ListAliasesRequest())).Aliases, a => a.AliasName == "alias/app");
        _kms.Time.Advance(TimeSpan.FromDays(8));
        Assert.DoesNotContain((await client.ListAliasesAsync(new ListAliasesRequest())).Aliases, a => a.AliasName == "alias/app");
        await Assert.ThrowsAsync<NotFoundException>(() => client.EncryptAsync(new EncryptRequest { KeyId = "alias/app", Plaintext = new MemoryStream([1]) }));
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/app", TargetKeyId = first });

        await client.DeleteAliasAsync(new DeleteAliasRequest { AliasName = "alias/app" });
        await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/app" }));
        Assert.Equal(KeyState.Enabled, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = first })).KeyMetadata.KeyState);
    }

    [Fact]
    public async Task Sdk_pages_list_keys_and_list_aliases_as_aws_does()
    {
        using AmazonKeyManagementServiceClient client = _kms.Client();
        var created = new List<string>();
        for (int i = 0; i < 7; i++)
        {
            string id = _kms.CreateKey($"key {i}").KeyId;
            created.Add(id);
            _kms.Time.Advance(TimeSpan.FromSeconds(1));
            if (i < 5)
            {
                await client.CreateAliasAsync(new CreateAliasRequest { AliasName = $"alias/page-{i}", TargetKeyId = id });
            }
        }

        var seen = new List<string>();
        string? marker = null;
        int pages = 0;
        do
        {
            ListKeysResponse page = await client.ListKeysAsync(new ListKeysRequest { Limit = 3, Marker = marker });
            pages++;
            Assert.True(page.Keys.Count <= 3);
            Assert.Equal(page.Truncated == true, page.NextMarker is not null);
            seen.AddRange(page.Keys.Select(k => k.KeyId));
            marker = page.NextMarker;
        }
        while (marker is not null);
        Assert.Equal(3, pages);
        Assert.Equal(created, seen); // creation order, each key once

        // The SDK's own paginator follows NextMarker the same way.
        var paginated = new List<string>();
        await foreach (KeyListEntry key in client.Paginators.ListKeys(new ListKeysRequest { Limit = 2 }).Keys)
        {
            paginated.Add(key.KeyId);
        }

        Assert.Equal(created, paginated);

        ListAliasesResponse firstAliases = await client.ListAliasesAsync(new ListAliasesRequest { Limit = 2 });
        Assert.Equal(["alias/page-0", "alias/page-1"], firstAliases.Aliases.Select(a => a.AliasName));
        Assert.True(firstAliases.Truncated);
        ListAliasesResponse rest = await client.ListAliasesAsync(new ListAliasesRequest { Limit = 100, Marker = firstAliases.NextMarker });
        Assert.Equal(["alias/page-2", "alias/page-3", "alias/page-4"], rest.Aliases.Select(a => a.AliasName));
        Assert.False(rest.Truncated);
        Assert.Null(rest.NextMarker);

        // A key deleted between two pages neither shifts nor repeats the rest: the marker names a position, not an index.
        ListKeysResponse head = await client.ListKeysAsync(new ListKeysRequest { Limit = 2 });
        LocalKmsTool.ScheduleDeletion(_kms.Server.DataDir, created[1], 0);
        ListKeysResponse tail = await client.ListKeysAsync(new ListKeysRequest { Marker = head.NextMarker });
        Assert.Equal(created.Skip(2), tail.Keys.Select(k => k.KeyId));

        foreach (int limit in (int[])[0, 1001])
        {
            var e = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.ListKeysAsync(new ListKeysRequest { Limit = limit }));
            Assert.Equal("ValidationException", e.ErrorCode);
        }

        Assert.Single((await client.ListKeysAsync(new ListKeysRequest { Limit = 1 })).Keys);
        Assert.Equal(6, (await client.ListKeysAsync(new ListKeysRequest { Limit = 1000 })).Keys.Count);
        Assert.Equal("ValidationException", (await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(
            () => client.ListAliasesAsync(new ListAliasesRequest { Limit = 101 }))).ErrorCode);
        await Assert.ThrowsAsync<InvalidMarkerException>(() => client.ListKeysAsync(new ListKeysRequest { Marker = "not-a-marker" }));
        await Assert.ThrowsAsync<InvalidMarkerException>(() => client.ListKeysAsync(new ListKeysRequest { Marker = firstAliases.NextMarker }));
    }

    [Fact]
    public async Task Arns_carry_the_region_the_request_is_signed_for()
    {
        using AmazonKeyManagementServiceClient paris = ClientIn("eu-west-3");
        KeyMetadata key = (await paris.CreateKeyAsync(new CreateKeyRequest())).KeyMetadata;
        Assert.Equal($"arn:aws:kms:eu-west-3:{KmsKeyStore.Account}:key/{key.KeyId}", key.Arn);
        await paris.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/paris", TargetKeyId = key.Arn });
        Assert.Equal($"arn:aws:kms:eu-west-3:{KmsKeyStore.Account}:alias/paris", Assert.Single((await paris.ListAliasesAsync(new ListAliasesRequest())).Aliases).AliasArn);
        Assert.Equal(key.Arn, Assert.Single((await paris.ListKeysAsync(new ListKeysRequest())).Keys).KeyArn);
        EncryptResponse encrypted = await paris.EncryptAsync(new EncryptRequest { KeyId = "alias/paris", Plaintext = new MemoryStream([9]) });
        Assert.Equal(key.Arn, encrypted.KeyId);

        // Seen from another region the key has that region's ARN, and the Paris ARN names nothing there.
        using AmazonKeyManagementServiceClient tokyo = ClientIn("ap-northeast-1");
        Assert.Equal($"arn:aws:kms:ap-northeast-1:{KmsKeyStore.Account}:key/{key.KeyId}",
            (await tokyo.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.KeyId })).KeyMetadata.Arn);
        await Assert.ThrowsAsync<NotFoundException>(() => tokyo.DescribeKeyAsync(new DescribeKeyRequest { KeyId = key.Arn }));
        await Assert.ThrowsAsync<NotFoundException>(() => tokyo.DescribeKeyAsync(new DescribeKeyRequest { KeyId = $"arn:aws:kms:eu-west-3:{KmsKeyStore.Account}:alias/paris" }));
        await Assert.ThrowsAsync<NotFoundException>(() => paris.DescribeKeyAsync(new DescribeKeyRequest { KeyId = $"arn:aws:kms:eu-west-3:999999999999:key/{key.KeyId}" }));
    }

    [Fact]
    public async Task Aliases_persist_with_the_keys_and_operator_commands_see_them()
    {
        LocalKmsKey key = _kms.CreateKey("persisted");
        LocalKmsAlias alias = LocalKmsTool.CreateAlias(_kms.Server.DataDir, "alias/ops", key.KeyId);
        Assert.Equal(key.KeyId, alias.TargetKeyId);
        Assert.Equal($"arn:aws:kms:us-east-1:{KmsKeyStore.Account}:alias/ops", alias.Arn);
        var refused = Assert.Throws<InvalidOperationException>(() => LocalKmsTool.CreateAlias(_kms.Server.DataDir, "alias/ops", key.KeyId));
        Assert.StartsWith("AlreadyExistsException", refused.Message, StringComparison.Ordinal);

        await using LocalKmsServer restarted = await LocalKmsServer.StartAsync(_kms.Server.DataDir);
        using var client = new AmazonKeyManagementServiceClient(KmsTestServer.Credentials, new AmazonKeyManagementServiceConfig
        {
            ServiceURL = restarted.Endpoint.OriginalString,
            AuthenticationRegion = KmsTestServer.Region,
            MaxErrorRetry = 0,
        });
        Assert.Equal(key.KeyId, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/ops" })).KeyMetadata.KeyId);
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = "alias/wire", TargetKeyId = key.KeyId });
        Assert.Equal(["alias/ops", "alias/wire"], LocalKmsTool.ListAliases(_kms.Server.DataDir).Select(a => a.Name));

        LocalKmsTool.DeleteAlias(_kms.Server.DataDir, "alias/ops");
        await Assert.ThrowsAsync<NotFoundException>(() => client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/ops" }));
        LocalKmsKey other = _kms.CreateKey("other");
        LocalKmsTool.UpdateAlias(_kms.Server.DataDir, "alias/wire", other.KeyId);
        Assert.Equal(other.KeyId, (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = "alias/wire" })).KeyMetadata.KeyId);
    }

    [Fact]
    public async Task A_cmek_named_by_alias_wraps_unwraps_and_reports_the_alias_re_pointed()
    {
        LocalKmsKey first = _kms.CreateKey("first");
        LocalKmsKey second = _kms.CreateKey("second");
        LocalKmsTool.CreateAlias(_kms.Server.DataDir, "alias/store", first.KeyId);
        using AwsKmsCmek cmek = _kms.Cmek("alias/store");
        byte[] rootKey = new byte[32];
        rootKey[0] = 42;
        byte[] storeId = Convert.FromHexString("00112233445566778899aabbccddeeff");

        byte[] wrapped = await cmek.WrapKeyAsync(rootKey, storeId);
        Assert.Equal(rootKey, await cmek.UnwrapKeyAsync(wrapped, storeId));
        await cmek.CheckAsync();

        // Re-pointing the alias is a different key for the store: the check and the unwrap both say so.
        LocalKmsTool.UpdateAlias(_kms.Server.DataDir, "alias/store", second.KeyId);
        var check = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        Assert.Equal(CmekFailureKind.Revoked, check.FailureKind);
        Assert.Equal("IncorrectKeyException", check.CmekErrorCode);
        var unwrap = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, storeId));
        Assert.Equal("IncorrectKeyException", unwrap.CmekErrorCode);

        LocalKmsTool.UpdateAlias(_kms.Server.DataDir, "alias/store", first.KeyId);
        await cmek.CheckAsync();
        LocalKmsTool.DeleteAlias(_kms.Server.DataDir, "alias/store");
        Assert.Equal("NotFoundException", (await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync())).CmekErrorCode);
    }

    [Fact]
    public async Task Keys_files_written_before_aliases_still_load()
    {
        // The format before aliases: an array of keys, each with its ARN and no alias list.
        string dir = Path.Combine(_kms.Root, "legacy");
        Directory.CreateDirectory(dir);
        string id = Guid.NewGuid().ToString();
        string material = Convert.ToBase64String(new byte[32]);
        await File.WriteAllTextAsync(Path.Combine(dir, KmsKeyStore.FileName), $$"""
            [{"KeyId":"{{id}}","Arn":"arn:aws:kms:us-east-1:{{KmsKeyStore.Account}}:key/{{id}}","State":"Enabled","Created":"2026-01-01T00:00:00+00:00","DeletionDate":null,"PendingWindowInDays":null,"Description":"old","Material":"{{material}}"}]
            """);
        Assert.Equal(id, Assert.Single(LocalKmsTool.ListKeys(dir)).KeyId);
        LocalKmsTool.CreateAlias(dir, "alias/old", id);
        Assert.Equal(id, Assert.Single(LocalKmsTool.ListAliases(dir)).TargetKeyId);
    }

    [Fact]
    public async Task Aws_cli_creates_aliases_pages_and_encrypts_by_alias()
    {
        const string region = "eu-north-1";
        string home = Directory.CreateDirectory(Path.Combine(_kms.Root, "cli-home")).FullName;
        AwsCli aws = AwsCli.Locate(_kms.Endpoint, region, home);

        JsonElement created = (await aws.JsonAsync("create-key", "--description", "from the AWS CLI")).GetProperty("KeyMetadata");
        string keyId = created.GetProperty("KeyId").GetString()!;
        string keyArn = created.GetProperty("Arn").GetString()!;
        Assert.Equal($"arn:aws:kms:{region}:{KmsKeyStore.Account}:key/{keyId}", keyArn);
        Assert.Equal("Enabled", created.GetProperty("KeyState").GetString());

        await aws.JsonAsync("create-alias", "--alias-name", "alias/cli-app", "--target-key-id", keyId);
        JsonElement alias = Assert.Single((await aws.JsonAsync("list-aliases")).GetProperty("Aliases").EnumerateArray().ToList());
        Assert.Equal("alias/cli-app", alias.GetProperty("AliasName").GetString());
        Assert.Equal($"arn:aws:kms:{region}:{KmsKeyStore.Account}:alias/cli-app", alias.GetProperty("AliasArn").GetString());
        Assert.Equal(keyId, alias.GetProperty("TargetKeyId").GetString());

        (int code, _, string stderr) = await aws.RunAsync("create-alias", "--alias-name", "alias/cli-app", "--target-key-id", keyId);
        Assert.NotEqual(0, code);
        Assert.Contains("AlreadyExistsException", stderr, StringComparison.Ordinal);
        (code, _, stderr) = await aws.RunAsync("create-alias", "--alias-name", "alias/aws/cli", "--target-key-id", keyId);
        Assert.NotEqual(0, code);
        Assert.Contains("InvalidAliasNameException", stderr, StringComparison.Ordinal);

        JsonElement described = (await aws.JsonAsync("describe-key", "--key-id", "alias/cli-app")).GetProperty("KeyMetadata");
        Assert.Equal(keyId, described.GetProperty("KeyId").GetString());
        Assert.Equal(keyArn, described.GetProperty("Arn").GetString());

        // Encrypt and decrypt by alias, with blobs passed as files as the CLI expects (fileb://).
        byte[] secret = Encoding.UTF8.GetBytes("root key stand-in, wrapped by alias");
        string plainFile = Path.Combine(home, "plain.bin");
        await File.WriteAllBytesAsync(plainFile, secret);
        JsonElement encrypted = await aws.JsonAsync("encrypt", "--key-id", "alias/cli-app", "--plaintext", "fileb://" + plainFile,
            "--encryption-context", "ekv-store-id=00ff");
        Assert.Equal(keyArn, encrypted.GetProperty("KeyId").GetString());
        string blobFile = Path.Combine(home, "blob.bin");
        await File.WriteAllBytesAsync(blobFile, Convert.FromBase64String(encrypted.GetProperty("CiphertextBlob").GetString()!));
        JsonElement decrypted = await aws.JsonAsync("decrypt", "--key-id", $"arn:aws:kms:{region}:{KmsKeyStore.Account}:alias/cli-app",
            "--ciphertext-blob", "fileb://" + blobFile, "--encryption-context", "ekv-store-id=00ff");
        Assert.Equal(secret, Convert.FromBase64String(decrypted.GetProperty("Plaintext").GetString()!));
        Assert.Equal(keyArn, decrypted.GetProperty("KeyId").GetString());

        // Paging: --page-size sets Limit and the CLI follows NextMarker; --max-items stops early and hands out a token.
        var all = new List<string> { keyId };
        for (int i = 0; i < 4; i++)
        {
            _kms.Time.Advance(TimeSpan.FromSeconds(1)); // creation order is listing order
            all.Add(_kms.CreateKey($"more {i}").KeyId);
        }

        long before = _kms.Server.CountOf("ListKeys");
        List<string> listed = KeyIds(await aws.JsonAsync("list-keys", "--page-size", "2"));
        Assert.Equal(all, listed);
        Assert.Equal(3, _kms.Server.CountOf("ListKeys") - before); // 2 + 2 + 1
        Assert.All((await aws.JsonAsync("list-keys")).GetProperty("Keys").EnumerateArray(),
            k => Assert.StartsWith($"arn:aws:kms:{region}:", k.GetProperty("KeyArn").GetString(), StringComparison.Ordinal));

        JsonElement firstThree = await aws.JsonAsync("list-keys", "--page-size", "2", "--max-items", "3");
        Assert.Equal(all.Take(3), KeyIds(firstThree));
        string token = firstThree.GetProperty("NextToken").GetString()!;
        JsonElement remainder = await aws.JsonAsync("list-keys", "--page-size", "2", "--starting-token", token);
        Assert.Equal(all.Skip(3), KeyIds(remainder));
        Assert.False(remainder.TryGetProperty("NextToken", out _));

        await aws.JsonAsync("create-alias", "--alias-name", "alias/cli-second", "--target-key-id", all[1]);
        JsonElement aliases = await aws.JsonAsync("list-aliases", "--page-size", "1");
        Assert.Equal(["alias/cli-app", "alias/cli-second"], aliases.GetProperty("Aliases").EnumerateArray().Select(a => a.GetProperty("AliasName").GetString()));
        await aws.JsonAsync("update-alias", "--alias-name", "alias/cli-second", "--target-key-id", all[2]);
        await aws.JsonAsync("delete-alias", "--alias-name", "alias/cli-app");
        JsonElement left = Assert.Single((await aws.JsonAsync("list-aliases")).GetProperty("Aliases").EnumerateArray().ToList());
        Assert.Equal(all[2], left.GetProperty("TargetKeyId").GetString());
    }

    private static List<string> KeyIds(JsonElement listKeys) =>
        listKeys.GetProperty("Keys").EnumerateArray().Select(k => k.GetProperty("KeyId").GetString()!).ToList();

    private AmazonKeyManagementServiceClient ClientIn(string region) =>
        new(KmsTestServer.Credentials, new AmazonKeyManagementServiceConfig
        {
            ServiceURL = _kms.Endpoint,
            AuthenticationRegion = region,
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(5),
        });
}
