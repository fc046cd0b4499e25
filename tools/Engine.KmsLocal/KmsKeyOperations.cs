namespace Engine.KmsLocal;

/// <summary>
/// Key lifecycle transitions with AWS's rules, shared by the wire protocol and the operator
/// commands: Enabled ⇄ Disabled; Enabled/Disabled → PendingDeletion (7 to 30 days) →
/// destroyed, or back to Disabled by a cancellation. A key pending deletion can be neither
/// enabled nor disabled (<c>KMSInvalidStateException</c>).
/// </summary>
internal sealed class KmsKeyOperations(KmsKeyStore store)
{
    public const int MinPendingDays = 7;
    public const int MaxPendingDays = 30;

    public KmsKeyStore Store { get; } = store;

    public LocalKmsKey Create(string? description) =>
        Store.Update(keys =>
        {
            KeyRecord key = Store.NewKey(description ?? string.Empty);
            keys.Add(key);
            return (key.ToPublic(), true);
        });

    public LocalKmsKey Describe(string keyId) => Store.Read(keys => Store.Find(keys, keyId).ToPublic());

    public IReadOnlyList<LocalKmsKey> List() =>
        Store.Read(keys => (IReadOnlyList<LocalKmsKey>)keys.Where(k => !Store.IsDestroyed(k)).Select(k => k.ToPublic()).ToList());

    public LocalKmsKey Enable(string keyId) => SetState(keyId, KmsKeyStore.Enabled);

    public LocalKmsKey Disable(string keyId) => SetState(keyId, KmsKeyStore.Disabled);

    /// <summary>Schedules deletion. <paramref name="allowImmediate"/> (operator commands only, not
    /// the wire protocol) lets 0 days destroy the key at once, to rehearse a deleted key.</summary>
    public LocalKmsKey ScheduleDeletion(string keyId, int? days, bool allowImmediate = false) =>
        Store.Update(keys =>
        {
            int window = days ?? MaxPendingDays;
            bool immediate = allowImmediate && window == 0;
            if (!immediate && (window < MinPendingDays || window > MaxPendingDays))
            {
                throw KmsError.Validation($"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between {MinPendingDays} and {MaxPendingDays}");
            }

            KeyRecord key = Store.Find(keys, keyId);
            if (key.State == KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{key.Arn} is pending deletion.");
            }

            key.State = KmsKeyStore.PendingDeletion;
            key.PendingWindowInDays = window;
            key.DeletionDate = Store.Now.AddDays(window);
            return (key.ToPublic(), true);
        });

    public LocalKmsKey CancelDeletion(string keyId) =>
        Store.Update(keys =>
        {
            KeyRecord key = Store.Find(keys, keyId);
            if (key.State != KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{key.Arn} is not pending deletion (it is {key.State}).");
            }

            key.State = KmsKeyStore.Disabled;
            key.DeletionDate = null;
            key.PendingWindowInDays = null;
            return (key.ToPublic(), true);
        });

    /// <summary>Runs <paramref name="use"/> with a key that may be used for cryptography.</summary>
    public T UseKey<T>(string keyId, Func<KeyRecord, T> use) =>
        Store.Read(keys =>
        {
            KeyRecord key = Store.Find(keys, keyId);
            EnsureUsable(key);
            return use(key);
        });

    /// <summary>Decrypts a blob: the blob names its key; a given <paramref name="keyId"/> must be that key.</summary>
    public (byte[] Plaintext, string Arn) Decrypt(byte[] blob, string? keyId, IReadOnlyDictionary<string, string> context) =>
        Store.Read(keys =>
        {
            string blobKeyId = KmsCiphertext.KeyIdOf(blob);
            if (keyId is not null)
            {
                KeyRecord requested = Store.Find(keys, keyId);
                if (requested.KeyId != blobKeyId)
                {
                    throw KmsError.IncorrectKey("The key ID in the request does not identify a CMK that can perform this operation.");
                }
            }

            KeyRecord key = Store.Find(keys, blobKeyId);
            EnsureUsable(key);
            return (KmsCiphertext.Open(key, blob, context), key.Arn);
        });

    private static void EnsureUsable(KeyRecord key)
    {
        switch (key.State)
        {
            case KmsKeyStore.Enabled:
                return;
            case KmsKeyStore.Disabled:
                throw KmsError.Disabled($"{key.Arn} is disabled.");
            default:
                throw KmsError.InvalidState($"{key.Arn} is pending deletion.");
        }
    }

    private LocalKmsKey SetState(string keyId, string state) =>
        Store.Update(keys =>
        {
            KeyRecord key = Store.Find(keys, keyId);
            if (key.State == KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{key.Arn} is pending deletion.");
            }

            bool changed = key.State != state;
            key.State = state;
            return (key.ToPublic(), changed);
        });
}
