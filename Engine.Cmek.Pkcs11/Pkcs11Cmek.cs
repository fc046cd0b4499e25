using System.Collections.Concurrent;
using System.Security.Cryptography;
using Engine.Crypto;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Net.Pkcs11Interop.HighLevelAPI.Factories;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// A CMEK held in a hardware security module (or any PKCS#11 token): a non-extractable AES-256 secret key
/// that never leaves the token. The store's root KEK is wrapped with <c>C_Encrypt</c> and unwrapped with
/// <c>C_Decrypt</c> under <c>CKM_AES_GCM</c> inside the token, with the store id (the context the engine
/// passes) as associated data, so a wrapped key copied into another store does not unwrap.
/// </summary>
/// <remarks>
/// <para>Why GCM through C_Encrypt/C_Decrypt and not <c>CKM_AES_KEY_WRAP_PAD</c> through C_WrapKey/C_UnwrapKey:
/// the root KEK is a key of the engine, not an object of the token, and GCM authenticates the store id as
/// associated data (key wrap has none, so binding the store would need a construction of our own).
/// SoftHSM 2.6.1 (Debian bookworm) offers CKM_AES_GCM for encrypt/decrypt and does not offer
/// CKM_AES_KEY_WRAP_PAD at all. The 96-bit IV is drawn from the CSPRNG per wrap (wraps are rare: store
/// creation and CMEK rotation), so IV reuse under one CMEK is negligible.</para>
/// <para>Wrapped format: <c>version (1) | IV (12) | ciphertext | tag (16)</c>; the associated data is
/// <c>version | context</c>.</para>
/// <para>Calls: opening a store costs one connection (slot list, token info, a session, logout and login,
/// a key search, one attribute read) and one unwrap (C_DecryptInit and one C_Decrypt into a buffer this class
/// owns); each health check is one <c>C_GetAttributeValue</c>. <see cref="CallCount"/>
/// counts the C_ functions. Sessions are pooled; a session, login or handle error drops them all, connects
/// again and retries once.</para>
/// <para>The PIN is read from the URI's pin-source file at each connect, passed to C_Login and zeroed; it is
/// never kept, logged, put into an exception or into <see cref="ToString"/>. Plaintext key buffers this class
/// owns are zeroed; the unwrapped key is returned in an array the caller zeroes. Thread-safe.</para>
/// </remarks>
public sealed class Pkcs11Cmek : ICmekProvider, ICmekHealthCheck
{
    /// <summary>The URI scheme of this provider (<c>pkcs11:</c>).</summary>
    public const string Scheme = "pkcs11";

    private const byte FormatVersion = 1;
    private const int IvLength = 12;
    private const int TagLength = 16;

    private readonly Pkcs11UriParts _parts;
    private readonly Lock _connectLock = new();
    private readonly string _keyName;
    private Pkcs11Module? _module;
    private Connection? _connection;
    private long _calls;
    private int _disposed;

    private Pkcs11Cmek(Pkcs11UriParts parts)
    {
        _parts = parts;
        Uri = Pkcs11Uri.Format(parts);
        _keyName = parts.Object is not null
            ? $"key '{parts.Object}' on token '{parts.Token}'"
            : $"key id {Convert.ToHexStringLower(parts.Id!)} on token '{parts.Token}'";
    }

    /// <inheritdoc/>
    /// <remarks>Canonical form: <c>pkcs11:token=T;object=O;type=secret-key?module-path=M&amp;pin-source=file:P</c>;
    /// never holds the PIN.</remarks>
    public string Uri { get; }

    /// <summary>
    /// The PKCS#11 functions (C_...) this provider called, counted as they are made (for example a wrap is
    /// C_EncryptInit and two C_Encrypt, as Pkcs11Interop sizes its output first; an unwrap C_DecryptInit and one
    /// C_Decrypt). For tests and benchmarks that check token traffic stays O(1)
    /// per open and per check interval.
    /// </summary>
    public long CallCount => Interlocked.Read(ref _calls);

    /// <summary>
    /// Lets <see cref="CmekProviders.Open(string)"/> (and so a store reopened from its directory, and
    /// <c>StoreOptions.CmekUri</c>) open <c>pkcs11:</c> URIs. Call once at start-up; calling again does nothing.
    /// </summary>
    public static void Register() => CmekProviders.Register(new Pkcs11CmekProviderFactory());

    /// <summary>
    /// Opens the key named by a <c>pkcs11:</c> URI. Nothing is loaded and the token is not asked until the key
    /// is used.
    /// </summary>
    /// <param name="uri"><c>pkcs11:token=T;object=O?module-path=/usr/lib/softhsm/libsofthsm2.so&amp;pin-source=file:/path</c>.</param>
    /// <returns>The provider; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The URI is malformed, misses token, object (or id), module-path or
    /// pin-source, carries a pin-value (refused: the URI is stored in the store's registry), or has an
    /// attribute this provider does not support. The message never repeats the URI.</exception>
    public static Pkcs11Cmek Open(string uri) => new(Pkcs11Uri.Parse(uri));

    /// <inheritdoc/>
    /// <exception cref="KeyUnavailableException">The token refused (PIN, key missing or not allowed to encrypt)
    /// or could not answer; see <see cref="KeyUnavailableException.FailureKind"/>.</exception>
    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        return OnOwnThread(() => Wrap(key, context), ct);
    }

    /// <inheritdoc/>
    /// <exception cref="KeyUnavailableException">The blob does not authenticate under this key and context
    /// (<c>CKR_ENCRYPTED_DATA_INVALID</c>, revoked), the token refused (PIN, key missing or not allowed to
    /// decrypt) or could not answer; see <see cref="KeyUnavailableException.FailureKind"/>.</exception>
    public async Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        ct.ThrowIfCancellationRequested();
        Task<byte[]> unwrap = OnOwnThread(() => Unwrap(wrapped, context), CancellationToken.None);
        try
        {
            return await unwrap.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The caller gave up and will never own the key: zero it when the token finally answers.
            _ = unwrap.ContinueWith(
                static t => CryptographicOperations.ZeroMemory(t.Result),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>
    /// One <c>C_GetAttributeValue(CKA_DECRYPT)</c> on the key: the token answers, the key object still exists
    /// (its handle is valid) and may still decrypt. A handle or session error connects again (finding the key
    /// anew) before the answer is given.
    /// </summary>
    /// <param name="ct">Abandons the check: a PKCS#11 call cannot be interrupted, so a hanging token leaves its
    /// thread blocked but the returned task ends when <paramref name="ct"/> is cancelled.</param>
    /// <returns>A task that completes when the key is usable.</returns>
    /// <exception cref="KeyUnavailableException">The key lost CKA_DECRYPT (<c>CKR_KEY_FUNCTION_NOT_PERMITTED</c>),
    /// was deleted (<c>ObjectNotFound</c>), the token is gone (<c>CKR_TOKEN_NOT_PRESENT</c>) or the PIN no longer
    /// logs in (<c>CKR_PIN_INCORRECT</c>): <see cref="CmekFailureKind.Revoked"/>; or the library failed
    /// (<c>CKR_DEVICE_ERROR</c>, ...): <see cref="CmekFailureKind.Transient"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    public Task CheckAsync(CancellationToken ct = default)
    {
        ThrowIfDisposed();
        return OnOwnThread(Check, ct);
    }

    /// <summary>
    /// Turns the key's CKA_DECRYPT and CKA_ENCRYPT on or off with C_SetAttributeValue (pkcs11-tool cannot): what an
    /// operator does to stop a CMEK's use without destroying it, and to allow it again. For <c>engine hsm
    /// key-usage</c> and revocation rehearsals.
    /// </summary>
    /// <param name="allowed">True to allow encrypt and decrypt, false to forbid both.</param>
    /// <exception cref="KeyUnavailableException">The token, PIN or key cannot be used, or the token refuses the
    /// change (for example CKR_ATTRIBUTE_READ_ONLY when the key has CKA_MODIFIABLE false).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    internal void SetKeyUsage(bool allowed)
    {
        ThrowIfDisposed();
        Connection connection = Connect("set key usage");
        try
        {
            Count(1);
            using ISession session = connection.Slot.OpenSession(SessionType.ReadWrite);
            IObjectAttributeFactory attributes = Pkcs11Module.Factories.ObjectAttributeFactory;
            Count(2); // C_SetAttributeValue, C_CloseSession
            session.SetAttributeValue(connection.Key, [attributes.Create(CKA.CKA_DECRYPT, allowed), attributes.Create(CKA.CKA_ENCRYPT, allowed)]);
        }
        catch (Exception e) when (e is not KeyUnavailableException)
        {
            throw Pkcs11Errors.Map(e, "set key usage (C_SetAttributeValue)", _keyName);
        }
    }

    /// <summary>Closes the sessions and releases the module (the last user finalizes it). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_connectLock)
        {
            _connection?.Dispose();
            _connection = null;
            _module?.Release();
            _module = null;
        }
    }

    /// <summary>Names the token, key and module; never the PIN.</summary>
    public override string ToString() => $"Pkcs11Cmek({Uri})";

    /// <summary>
    /// Runs blocking PKCS#11 work on a thread of its own (not the thread pool, which a busy application may have
    /// starved), so that the caller's cancellation (the store's check timeout) ends the wait even if the token
    /// never answers.
    /// </summary>
    private static Task<T> OnOwnThread<T>(Func<T> work, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(ct);
        }

        return Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(ct);
    }

    private byte[] Wrap(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context)
    {
        byte[] iv = RandomNumberGenerator.GetBytes(IvLength);
        byte[] aad = AssociatedData(context.Span);
        byte[] plain = GC.AllocateArray<byte>(key.Length, pinned: true);
        key.Span.CopyTo(plain);
        try
        {
            byte[] sealedKey = Run("wrap (C_Encrypt)", (session, handle) =>
            {
                IMechanism mechanism = Gcm(iv, aad);
                Count(3);
                return session.Encrypt(mechanism, handle, plain);
            });
            byte[] wrapped = new byte[1 + IvLength + sealedKey.Length];
            wrapped[0] = FormatVersion;
            iv.CopyTo(wrapped, 1);
            sealedKey.CopyTo(wrapped, 1 + IvLength);
            return wrapped;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private byte[] Unwrap(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context)
    {
        ReadOnlySpan<byte> blob = wrapped.Span;
        if (blob.Length <= 1 + IvLength + TagLength || blob[0] != FormatVersion)
        {
            throw Pkcs11Errors.Create("unwrap", _keyName, CmekFailureKind.Revoked, Pkcs11Errors.WrappedKeyInvalid,
                "the wrapped key is not a PKCS#11 GCM blob of format version 1 (damaged, or wrapped by another CMEK kind)");
        }

        byte[] iv = blob.Slice(1, IvLength).ToArray();
        byte[] sealedKey = blob[(1 + IvLength)..].ToArray();
        byte[] aad = AssociatedData(context.Span);
        byte[] key = Run("unwrap (C_Decrypt)", (session, handle) =>
        {
            try
            {
                Pkcs11ExactDecrypt? exact = _module?.ExactDecrypt;
                if (exact is not null)
                {
                    Count(2); // C_DecryptInit, C_Decrypt
                    return exact.Decrypt(session, handle, iv, aad, sealedKey, TagLength);
                }

                // Another platform layout: Pkcs11Interop sizes the output first (one more C_Decrypt) and may leave
                // an unzeroed copy to the GC (see Pkcs11ExactDecrypt).
                Count(3);
                return session.Decrypt(Gcm(iv, aad), handle, sealedKey);
            }
            // When C_DecryptInit succeeded on this key and session, the token answers and the key may decrypt, so a
            // failing C_Decrypt is about this blob. SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR.
            catch (Pkcs11Exception e) when (e.Method == "C_Decrypt" && e.RV is CKR.CKR_GENERAL_ERROR or CKR.CKR_FUNCTION_FAILED or CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_ENCRYPTED_DATA_LEN_RANGE)
            {
                throw Pkcs11Errors.Create("unwrap", _keyName, CmekFailureKind.Revoked, Pkcs11Errors.WrappedKeyInvalid,
                    $"the wrapped key does not authenticate under this key and store id (wrong key, wrong store, or a damaged blob; the token answered {e.RV})", e);
            }
        });
        return key;
    }

    private bool Check()
    {
        return Run("check (C_GetAttributeValue)", (session, handle) =>
        {
            Count(1);
            List<IObjectAttribute> attributes = session.GetAttributeValue(handle, [CKA.CKA_DECRYPT]);
            if (!attributes[0].GetValueAsBool())
            {
                throw Pkcs11Errors.Create("check", _keyName, CmekFailureKind.Revoked, nameof(CKR.CKR_KEY_FUNCTION_NOT_PERMITTED),
                    "the key's CKA_DECRYPT is false: it may no longer unwrap the store's root key");
            }

            return true;
        });
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> context)
    {
        byte[] aad = new byte[1 + context.Length];
        aad[0] = FormatVersion;
        context.CopyTo(aad.AsSpan(1));
        return aad;
    }

    private static IMechanism Gcm(byte[] iv, byte[] aad)
    {
        Pkcs11InteropFactories factories = Pkcs11Module.Factories;
        return factories.MechanismFactory.Create(
            CKM.CKM_AES_GCM,
            factories.MechanismParamsFactory.CreateCkGcmParams(iv, IvLength * 8, aad, TagLength * 8));
    }

    private void Count(int calls) => Interlocked.Add(ref _calls, calls);

    /// <summary>Runs <paramref name="operation"/> on a pooled session; after a session, login or handle error,
    /// connects again and retries once.</summary>
    private T Run<T>(string name, Func<ISession, IObjectHandle, T> operation)
    {
        for (int attempt = 0; ; attempt++)
        {
            Connection connection = Connect(name);
            ISession session;
            try
            {
                session = connection.Rent(this);
            }
            catch (Exception e) when (e is not KeyUnavailableException)
            {
                Drop(connection);
                if (attempt == 0 && Pkcs11Errors.WorthReconnecting(e))
                {
                    continue;
                }

                throw Pkcs11Errors.Map(e, name, _keyName);
            }

            try
            {
                T result = operation(session, connection.Key);
                connection.Return(session, this);
                return result;
            }
            catch (KeyUnavailableException)
            {
                connection.Return(session, this);
                throw;
            }
            catch (Exception e)
            {
                // The session may be the broken part: never pool it again.
                Connection.Discard(session, this);
                if (Pkcs11Errors.WorthReconnecting(e))
                {
                    Drop(connection);
                    if (attempt == 0)
                    {
                        continue;
                    }
                }

                throw Pkcs11Errors.Map(e, name, _keyName);
            }
        }
    }

    private Connection Connect(string operation)
    {
        Connection? current = Volatile.Read(ref _connection);
        if (current is not null)
        {
            return current;
        }

        lock (_connectLock)
        {
            ThrowIfDisposed();
            if (_connection is not null)
            {
                return _connection;
            }

            if (_module is null)
            {
                try
                {
                    _module = Pkcs11Module.Acquire(_parts.ModulePath);
                    Count(2); // C_GetFunctionList, C_Initialize
                }
                catch (Exception e) when (e is Pkcs11Exception or UnmanagedException or DllNotFoundException or BadImageFormatException)
                {
                    throw Pkcs11Errors.Create(operation, _keyName, CmekFailureKind.Revoked, Pkcs11Errors.ModuleNotLoadable,
                        $"the module '{_parts.ModulePath}' cannot be loaded and initialized ({e.GetType().Name}: {e.Message})", e);
                }
            }

            try
            {
                Volatile.Write(ref _connection, Connection.Open(this, _module));
            }
            catch (Exception e)
            {
                throw Pkcs11Errors.Map(e, operation + ": connect", _keyName);
            }

            return _connection!;
        }
    }

    private void Drop(Connection connection)
    {
        lock (_connectLock)
        {
            if (ReferenceEquals(_connection, connection))
            {
                _connection = null;
            }
        }

        connection.Dispose();
    }

    private byte[] ReadPin()
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(_parts.PinFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The path is configuration, not a secret; the exception text names only the path.
            throw Pkcs11Errors.Create("login", _keyName, CmekFailureKind.Revoked, Pkcs11Errors.PinSourceUnreadable,
                $"the PIN file '{_parts.PinFile}' cannot be read ({e.GetType().Name})");
        }

        // A trailing newline (echo PIN > file) is not part of the PIN.
        int length = content.Length;
        while (length > 0 && content[length - 1] is (byte)'\n' or (byte)'\r')
        {
            length--;
        }

        if (length == content.Length)
        {
            return content;
        }

        byte[] pin = content[..length];
        CryptographicOperations.ZeroMemory(content);
        return pin;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>A logged-in token and the key's handle, with a pool of idle sessions. Replaced as a whole after an error.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly ISession _loginSession;
        private readonly ConcurrentBag<ISession> _idle = [];
        private int _disposed;

        private Connection(ISlot slot, ISession loginSession, IObjectHandle key)
        {
            Slot = slot;
            _loginSession = loginSession;
            Key = key;
        }

        public ISlot Slot { get; }

        public IObjectHandle Key { get; }

        public static Connection Open(Pkcs11Cmek owner, Pkcs11Module module)
        {
            ISlot slot = FindToken(owner, module);
            owner.Count(1);
            ISession session = slot.OpenSession(SessionType.ReadOnly);
            try
            {
                // Login state belongs to the application, not the session: if another provider of this process
                // logged in, C_Login would answer CKR_USER_ALREADY_LOGGED_IN without checking our PIN. Logging
                // out first makes every connect prove its PIN (others' sessions reconnect on their next call).
                try
                {
                    owner.Count(1);
                    session.Logout();
                }
                catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_NOT_LOGGED_IN)
                {
                }

                byte[] pin = owner.ReadPin();
                try
                {
                    owner.Count(1);
                    session.Login(CKU.CKU_USER, pin);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pin);
                }

                IObjectHandle key = FindKey(owner, session);
                return new Connection(slot, session, key);
            }
            catch
            {
                Close(session);
                throw;
            }
        }

        public ISession Rent(Pkcs11Cmek owner)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_idle.TryTake(out ISession? session))
            {
                return session;
            }

            owner.Count(1);
            return Slot.OpenSession(SessionType.ReadOnly);
        }

        public void Return(ISession session, Pkcs11Cmek owner)
        {
            _idle.Add(session);
            if (Volatile.Read(ref _disposed) != 0 && _idle.TryTake(out ISession? late))
            {
                owner.Count(1);
                Close(late);
            }
        }

        public static void Discard(ISession session, Pkcs11Cmek owner)
        {
            owner.Count(1);
            Close(session);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            while (_idle.TryTake(out ISession? session))
            {
                Close(session);
            }

            Close(_loginSession);
        }

        private static ISlot FindToken(Pkcs11Cmek owner, Pkcs11Module module)
        {
            owner.Count(2);
            List<ISlot> slots = module.Library.GetSlotList(SlotsType.WithTokenPresent);
            var matches = new List<ISlot>();
            foreach (ISlot slot in slots)
            {
                ITokenInfo info;
                try
                {
                    owner.Count(1);
                    info = slot.GetTokenInfo();
                }
                catch (Pkcs11Exception)
                {
                    // A token going away while we list: it is not the one we can use.
                    continue;
                }

                if (info.Label == owner._parts.Token && (owner._parts.Serial is null || info.SerialNumber == owner._parts.Serial))
                {
                    matches.Add(slot);
                }
            }

            return matches.Count switch
            {
                1 => matches[0],
                0 => throw Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, Pkcs11Errors.TokenNotFound,
                    "no token with this label (and serial) is present: removed or deleted"),
                _ => throw Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, "AmbiguousToken",
                    $"{matches.Count} tokens have this label; add serial= to the URI"),
            };
        }

        private static IObjectHandle FindKey(Pkcs11Cmek owner, ISession session)
        {
            IObjectAttributeFactory attributes = Pkcs11Module.Factories.ObjectAttributeFactory;
            var template = new List<IObjectAttribute> { attributes.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY) };
            if (owner._parts.Object is not null)
            {
                template.Add(attributes.Create(CKA.CKA_LABEL, owner._parts.Object));
            }

            if (owner._parts.Id is not null)
            {
                template.Add(attributes.Create(CKA.CKA_ID, owner._parts.Id));
            }

            owner.Count(3); // C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal
            List<IObjectHandle> found = session.FindAllObjects(template);
            if (found.Count != 1)
            {
                throw found.Count == 0
                    ? Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, Pkcs11Errors.ObjectNotFound,
                        "no secret key with this label (and id) is on the token: deleted, or never created")
                    : Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, Pkcs11Errors.AmbiguousObject,
                        $"{found.Count} secret keys match; give each a unique label or add id= to the URI");
            }

            owner.Count(1);
            List<IObjectAttribute> values = session.GetAttributeValue(found[0], [CKA.CKA_KEY_TYPE, CKA.CKA_VALUE_LEN, CKA.CKA_EXTRACTABLE]);
            if (values[0].GetValueAsUlong() != (ulong)CKK.CKK_AES || values[1].GetValueAsUlong() != 32)
            {
                throw Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, nameof(CKR.CKR_KEY_TYPE_INCONSISTENT),
                    "the key is not an AES-256 key (CKA_KEY_TYPE CKK_AES, CKA_VALUE_LEN 32)");
            }

            if (values[2].GetValueAsBool())
            {
                throw Pkcs11Errors.Create("connect", owner._keyName, CmekFailureKind.Revoked, "KeyExtractable",
                    "the key has CKA_EXTRACTABLE true: a CMEK that can leave the token is refused; generate it non-extractable");
            }

            return found[0];
        }

        private static void Close(ISession session)
        {
            try
            {
                session.Dispose();
            }
            catch (Pkcs11Exception)
            {
                // A session of a token that is gone cannot be closed more than it is.
            }
        }
    }
}
