using System.Security.Cryptography;
using Engine.Cmek.AwsKms;
using Engine.Crypto;
using Engine.KmsLocal;

namespace Engine.Tests.Kms;

/// <summary><see cref="AwsKmsCmek"/> through the real AWS SDK against the local endpoint.</summary>
public sealed class AwsKmsCmekTests : IAsyncLifetime
{
    private static readonly byte[] StoreId = Convert.FromHexString("0123456789abcdef0123456789abcdef");
    private static readonly byte[] OtherStoreId = Convert.FromHexString("fedcba9876543210fedcba9876543210");

    private KmsTestServer _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsTestServer.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task Wrap_and_unwrap_round_trip_under_the_store_id_context()
    {
        LocalKmsKey key = _kms.CreateKey();
        using AwsKmsCmek cmek = _kms.Cmek(key.Arn);
        byte[] root = RandomNumberGenerator.GetBytes(32);

        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);
        Assert.False(wrapped.AsSpan().IndexOf(root) >= 0, "the wrapped blob must not contain the key");
        byte[] unwrapped = await cmek.UnwrapKeyAsync(wrapped, StoreId);

        Assert.Equal(root, unwrapped);
        Assert.Equal(2, cmek.CallCount);
        Assert.Equal(1, _kms.Server.CountOf("Encrypt"));
        Assert.Equal(1, _kms.Server.CountOf("Decrypt"));
        Assert.DoesNotContain(Convert.ToHexString(root), cmek.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Another_store_id_does_not_unwrap()
    {
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId);
        byte[] wrapped = await cmek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, OtherStoreId));
        AssertKms(e, "InvalidCiphertextException", CmekFailureKind.Revoked, cmek.KeyId);
    }

    [Fact]
    public async Task Wrong_key_id_gives_incorrect_key_and_unknown_key_gives_not_found()
    {
        using AwsKmsCmek right = _kms.Cmek(_kms.CreateKey().KeyId);
        byte[] wrapped = await right.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);

        using AwsKmsCmek other = _kms.Cmek(_kms.CreateKey().KeyId);
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => other.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "IncorrectKeyException", CmekFailureKind.Revoked, other.KeyId);

        using AwsKmsCmek missing = _kms.Cmek(Guid.NewGuid().ToString());
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => missing.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "NotFoundException", CmekFailureKind.Revoked, missing.KeyId);
    }

    [Fact]
    public async Task Disabled_key_is_revoked_until_enabled_again()
    {
        LocalKmsKey key = _kms.CreateKey();
        using AwsKmsCmek cmek = _kms.Cmek(key.KeyId);
        byte[] root = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);

        _kms.Server.Keys.Disable(key.KeyId);
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "DisabledException", CmekFailureKind.Revoked, key.KeyId);
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.WrapKeyAsync(root, StoreId));
        AssertKms(e, "DisabledException", CmekFailureKind.Revoked, key.KeyId);
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        AssertKms(e, "DisabledException", CmekFailureKind.Revoked, key.KeyId);

        _kms.Server.Keys.Enable(key.KeyId);
        await cmek.CheckAsync();
        Assert.Equal(root, await cmek.UnwrapKeyAsync(wrapped, StoreId));
    }

    [Fact]
    public async Task Pending_deletion_then_deleted_key_is_revoked()
    {
        LocalKmsKey key = _kms.CreateKey();
        using AwsKmsCmek cmek = _kms.Cmek(key.Arn);
        byte[] wrapped = await cmek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);

        _kms.Server.Keys.ScheduleDeletion(key.KeyId, 7);
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "KMSInvalidStateException", CmekFailureKind.Revoked, key.Arn);
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        AssertKms(e, "KMSInvalidStateException", CmekFailureKind.Revoked, key.Arn);
        Assert.Contains("PendingDeletion", e.Message, StringComparison.Ordinal);

        _kms.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "NotFoundException", CmekFailureKind.Revoked, key.Arn);
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        AssertKms(e, "NotFoundException", CmekFailureKind.Revoked, key.Arn);
    }

    [Fact]
    public async Task Access_denied_is_revoked()
    {
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId);
        byte[] wrapped = await cmek.WrapKeyAsync(RandomNumberGenerator.GetBytes(32), StoreId);
        _kms.Server.FaultInjector = op => op == "Decrypt" ? LocalKmsFault.AccessDenied(op) : null;

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, "AccessDeniedException", CmekFailureKind.Revoked, cmek.KeyId);
    }

    [Theory]
    [InlineData(KmsFailureMode.Throttle, "ThrottlingException")]
    [InlineData(KmsFailureMode.InternalError, "KMSInternalException")]
    [InlineData(KmsFailureMode.ServiceUnavailable, "ServiceUnavailableException")]
    public async Task Throttling_and_server_errors_are_transient(KmsFailureMode mode, string code)
    {
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId);
        byte[] root = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);

        _kms.Server.FailureMode = mode;
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.UnwrapKeyAsync(wrapped, StoreId));
        AssertKms(e, code, CmekFailureKind.Transient, cmek.KeyId);
        e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        AssertKms(e, code, CmekFailureKind.Transient, cmek.KeyId);

        _kms.Server.FailureMode = KmsFailureMode.None;
        Assert.Equal(root, await cmek.UnwrapKeyAsync(wrapped, StoreId));
    }

    [Fact]
    public async Task A_hanging_endpoint_times_out_as_transient()
    {
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId, new AwsKmsOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        _kms.Server.FailureMode = KmsFailureMode.Hang;

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        Assert.Equal(CmekFailureKind.Transient, e.FailureKind);
    }

    [Fact]
    public async Task A_refused_connection_is_transient()
    {
        // Bind a port, release it: nothing listens there any more.
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        using AwsKmsCmek cmek = AwsKmsCmek.Open(
            $"aws-kms:{Guid.NewGuid()}?endpoint=http://127.0.0.1:{port}&region=us-east-1",
            new AwsKmsOptions { Credentials = KmsTestServer.Credentials, MaxErrorRetry = 0, Timeout = TimeSpan.FromSeconds(2) });

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        Assert.Equal(CmekFailureKind.Transient, e.FailureKind);
        Assert.NotNull(e.CmekErrorCode);
    }

    [Fact]
    public async Task Check_passes_for_an_enabled_key_and_costs_one_request()
    {
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId);
        await cmek.CheckAsync();
        Assert.Equal(1, cmek.CallCount);
        Assert.Equal(1, _kms.Server.CountOf("DescribeKey"));
    }

    [Fact]
    public async Task Role_is_assumed_with_the_external_id_and_used_for_kms_calls()
    {
        const string role = "arn:aws:iam::444455556666:role/ekv-cmek";
        _kms.Server.TrustRole(role, "tenant-42");
        string extra = $"&role={Uri.EscapeDataString(role)}&external-id=tenant-42&sts-endpoint={_kms.Endpoint}";
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId, extra: extra);

        byte[] root = RandomNumberGenerator.GetBytes(32);
        byte[] wrapped = await cmek.WrapKeyAsync(root, StoreId);
        Assert.Equal(root, await cmek.UnwrapKeyAsync(wrapped, StoreId));

        Assert.Equal(1, _kms.Server.AssumeRoleCount);
        Assert.Equal("tenant-42", _kms.Server.LastExternalId);
        Assert.True(_kms.Server.LastRequestUsedAssumedRole);
        Assert.StartsWith("ASIA", _kms.Server.LastAccessKeyId, StringComparison.Ordinal);
        Assert.Equal(3, cmek.CallCount);
        Assert.Contains("external-id=tenant-42", cmek.Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_external_id_is_denied_and_revoked()
    {
        const string role = "arn:aws:iam::444455556666:role/ekv-cmek";
        _kms.Server.TrustRole(role, "tenant-42");
        string extra = $"&role={Uri.EscapeDataString(role)}&external-id=someone-else&sts-endpoint={_kms.Endpoint}";
        using AwsKmsCmek cmek = _kms.Cmek(_kms.CreateKey().KeyId, extra: extra);

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());
        AssertKms(e, "AccessDenied", CmekFailureKind.Revoked, cmek.KeyId);
    }

    private static void AssertKms(KeyUnavailableException e, string code, CmekFailureKind kind, string keyId)
    {
        Assert.Equal(code, e.CmekErrorCode);
        Assert.Equal(kind, e.FailureKind);
        Assert.Contains(code, e.Message, StringComparison.Ordinal);
        Assert.Contains(keyId, e.Message, StringComparison.Ordinal);
    }
}
