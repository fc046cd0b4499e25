using Engine.Crypto;
using Net.Pkcs11Interop.Common;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// Turns what the token answers into a <see cref="KeyUnavailableException"/> that names the CKR_ code (or
/// <c>ObjectNotFound</c>, <c>TokenNotFound</c>, ...), the token and the key, and says whether the key was revoked
/// (an operator must act) or the library failed transiently (retrying may help). The table is in docs/hsm.md.
/// </summary>
internal static class Pkcs11Errors
{
    /// <summary>The key object is not on the token (deleted, or never created).</summary>
    public const string ObjectNotFound = "ObjectNotFound";

    /// <summary>Two objects match the URI: the provider will not guess which one is the CMEK.</summary>
    public const string AmbiguousObject = "AmbiguousObject";

    /// <summary>No token with the URI's label (and serial) is present: removed, or deleted.</summary>
    public const string TokenNotFound = "CKR_TOKEN_NOT_PRESENT";

    /// <summary>The PIN file cannot be read.</summary>
    public const string PinSourceUnreadable = "PinSourceUnreadable";

    /// <summary>The module (shared library) cannot be loaded or initialized.</summary>
    public const string ModuleNotLoadable = "ModuleNotLoadable";

    /// <summary>The blob does not authenticate under this key and context.</summary>
    public const string WrappedKeyInvalid = "CKR_ENCRYPTED_DATA_INVALID";

    /// <summary>
    /// Answers that mean the key cannot be used for this store until an operator acts: the PIN no longer
    /// opens the token, the key lost the usage it needs, its handle or the token is gone, or the token does
    /// not support what a key of this kind must do.
    /// </summary>
    private static readonly HashSet<CKR> RevokedCodes =
    [
        CKR.CKR_PIN_INCORRECT,
        CKR.CKR_PIN_INVALID,
        CKR.CKR_PIN_LEN_RANGE,
        CKR.CKR_PIN_EXPIRED,
        CKR.CKR_PIN_LOCKED,
        CKR.CKR_USER_PIN_NOT_INITIALIZED,
        CKR.CKR_KEY_FUNCTION_NOT_PERMITTED,
        CKR.CKR_KEY_HANDLE_INVALID,
        CKR.CKR_OBJECT_HANDLE_INVALID,
        CKR.CKR_KEY_TYPE_INCONSISTENT,
        CKR.CKR_KEY_SIZE_RANGE,
        CKR.CKR_KEY_UNEXTRACTABLE,
        CKR.CKR_MECHANISM_INVALID,
        CKR.CKR_MECHANISM_PARAM_INVALID,
        CKR.CKR_ENCRYPTED_DATA_INVALID,
        CKR.CKR_ENCRYPTED_DATA_LEN_RANGE,
        CKR.CKR_TOKEN_NOT_PRESENT,
        CKR.CKR_TOKEN_NOT_RECOGNIZED,
        CKR.CKR_DEVICE_REMOVED,
        CKR.CKR_SLOT_ID_INVALID,
    ];

    /// <summary>Answers after which the provider drops its sessions and connects again before giving up.</summary>
    private static readonly HashSet<CKR> ReconnectCodes =
    [
        CKR.CKR_SESSION_HANDLE_INVALID,
        CKR.CKR_SESSION_CLOSED,
        CKR.CKR_USER_NOT_LOGGED_IN,
        CKR.CKR_OBJECT_HANDLE_INVALID,
        CKR.CKR_KEY_HANDLE_INVALID,
        CKR.CKR_DEVICE_ERROR,
        CKR.CKR_DEVICE_REMOVED,
        CKR.CKR_TOKEN_NOT_PRESENT,
        CKR.CKR_GENERAL_ERROR,
        CKR.CKR_FUNCTION_FAILED,
        CKR.CKR_CRYPTOKI_NOT_INITIALIZED,
        CKR.CKR_OPERATION_ACTIVE,
    ];

    /// <summary>True when a fresh session (and login, and key lookup) may cure <paramref name="error"/>.</summary>
    public static bool WorthReconnecting(Exception error) => error is Pkcs11Exception p && ReconnectCodes.Contains(p.RV);

    public static CmekFailureKind KindOf(CKR code) => RevokedCodes.Contains(code) ? CmekFailureKind.Revoked : CmekFailureKind.Transient;

    public static KeyUnavailableException Map(Exception error, string operation, string keyName)
    {
        return error switch
        {
            KeyUnavailableException known => known,
            Pkcs11Exception p => Create(operation, keyName, KindOf(p.RV), p.RV.ToString(), $"the token answered {p.RV} to {p.Method}", error),
            // The managed wrapper failed before or after the call (a marshalling or library-state problem):
            // nothing says the key was revoked, so the store degrades and retries.
            _ => Create(operation, keyName, CmekFailureKind.Transient, error.GetType().Name, error.GetType().Name + ": " + error.Message, error),
        };
    }

    public static KeyUnavailableException Create(string operation, string keyName, CmekFailureKind kind, string code, string detail, Exception? inner = null)
    {
        string advice = kind == CmekFailureKind.Revoked
            ? "the key is revoked or unusable for this store until an operator restores it"
            : "the token or its library could not answer; retry later";
        return new KeyUnavailableException($"PKCS#11 {operation} with {keyName} failed with {code} ({advice}): {detail}", kind, code, inner);
    }
}
