using Engine.Cmek.Pkcs11;
using Net.Pkcs11Interop.Common;

namespace Engine.Tests.Hsm;

/// <summary>
/// The CKR_ mapping of docs/hsm.md for the answers a SoftHSM2 token cannot be made to give (device and session
/// failures): revocations lock, library failures degrade, and the code is named either way.
/// </summary>
public sealed class Pkcs11ErrorsTests
{
    [Theory]
    [InlineData(CKR.CKR_PIN_INCORRECT, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_PIN_LOCKED, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_OBJECT_HANDLE_INVALID, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_TOKEN_NOT_PRESENT, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_DEVICE_REMOVED, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_ENCRYPTED_DATA_INVALID, CmekFailureKind.Revoked)]
    [InlineData(CKR.CKR_DEVICE_ERROR, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_DEVICE_MEMORY, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_SESSION_HANDLE_INVALID, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_SESSION_CLOSED, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_GENERAL_ERROR, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_FUNCTION_FAILED, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_USER_NOT_LOGGED_IN, CmekFailureKind.Transient)]
    [InlineData(CKR.CKR_CRYPTOKI_NOT_INITIALIZED, CmekFailureKind.Transient)]
    public void Each_token_answer_maps_to_its_kind_and_is_named(CKR code, CmekFailureKind kind)
    {
        KeyUnavailableException e = Pkcs11Errors.Map(new Pkcs11Exception("C_GetAttributeValue", code), "check", "key 'k' on token 't'");

        Assert.Equal(kind, e.FailureKind);
        Assert.Equal(code.ToString(), e.CmekErrorCode);
        Assert.Contains(code.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains("C_GetAttributeValue", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_and_handle_failures_are_worth_one_reconnect_and_refusals_are_not()
    {
        Assert.True(Pkcs11Errors.WorthReconnecting(new Pkcs11Exception("C_Decrypt", CKR.CKR_SESSION_HANDLE_INVALID)));
        Assert.True(Pkcs11Errors.WorthReconnecting(new Pkcs11Exception("C_GetAttributeValue", CKR.CKR_OBJECT_HANDLE_INVALID)));
        Assert.True(Pkcs11Errors.WorthReconnecting(new Pkcs11Exception("C_Decrypt", CKR.CKR_DEVICE_ERROR)));
        Assert.False(Pkcs11Errors.WorthReconnecting(new Pkcs11Exception("C_Login", CKR.CKR_PIN_INCORRECT)));
        Assert.False(Pkcs11Errors.WorthReconnecting(new Pkcs11Exception("C_DecryptInit", CKR.CKR_KEY_FUNCTION_NOT_PERMITTED)));
        Assert.False(Pkcs11Errors.WorthReconnecting(new InvalidOperationException("not a token answer")));
    }

    [Fact]
    public void A_wrapper_failure_is_transient_and_named_by_its_type()
    {
        KeyUnavailableException e = Pkcs11Errors.Map(new InvalidOperationException("marshalling"), "unwrap", "key 'k' on token 't'");

        Assert.Equal(CmekFailureKind.Transient, e.FailureKind);
        Assert.Equal(nameof(InvalidOperationException), e.CmekErrorCode);
    }

    [Fact]
    public async Task A_cancelled_check_ends_without_asking_the_token()
    {
        using Pkcs11Cmek cmek = Pkcs11Cmek.Open("pkcs11:token=T;object=O?module-path=/nonexistent/module.so&pin-source=file:/nonexistent/pin");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cmek.CheckAsync(cancelled.Token));
        Assert.Equal(0, cmek.CallCount);
    }

    [Fact]
    public async Task A_module_that_cannot_be_loaded_is_named_and_nothing_else_is_said()
    {
        using Pkcs11Cmek cmek = Pkcs11Cmek.Open("pkcs11:token=T;object=O?module-path=/nonexistent/module.so&pin-source=file:/nonexistent/pin");

        KeyUnavailableException e = await Assert.ThrowsAsync<KeyUnavailableException>(() => cmek.CheckAsync());

        Assert.Equal("ModuleNotLoadable", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        Assert.Contains("/nonexistent/module.so", e.Message, StringComparison.Ordinal);
    }
}
