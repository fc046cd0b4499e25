using System.Globalization;
using System.Text;

namespace Engine.KmsLocal;

/// <summary>
/// Key lifecycle transitions and aliases with AWS's rules, shared by the wire protocol and the
/// operator commands: Enabled ⇄ Disabled; Enabled/Disabled → PendingDeletion (7 to 30 days) →
/// destroyed, or back to Disabled by a cancellation. A key pending deletion can be neither
/// enabled nor disabled (<c>KMSInvalidStateException</c>). An alias names one key; a key may have
/// several aliases; a destroyed key's aliases go with it.
/// </summary>
/// <remarks>ARNs are written for <see cref="Region"/>: the request's region on the wire (its SigV4
/// credential scope), the store's configured region for the operator commands.</remarks>
internal sealed class KmsKeyOperations(KmsKeyStore store, string region)
{
    public const int MinPendingDays = 7;
    public const int MaxPendingDays = 30;

    /// <summary>AWS's ListKeys page size: 1 to 1000, 100 when not given.</summary>
    public const int MaxKeysPage = 1000;
    public const int DefaultKeysPage = 100;

    /// <summary>AWS's ListAliases page size: 1 to 100, 50 when not given.</summary>
    public const int MaxAliasesPage = 100;
    public const int DefaultAliasesPage = 50;

    private const string AliasPrefix = "alias/";
    private const string ReservedAliasPrefix = "alias/aws/";
    private const int MaxAliasName = 256;

    public KmsKeyOperations(KmsKeyStore store)
        : this(store, store.Region)
    {
    }

    public KmsKeyStore Store { get; } = store;

    /// <summary>The region written into ARNs and accepted in ARNs given.</summary>
    public string Region { get; } = region;

    /// <summary>The same keys seen from another region (each request's own).</summary>
    public KmsKeyOperations InRegion(string requestRegion) => requestRegion == Region ? this : new KmsKeyOperations(Store, requestRegion);

    public LocalKmsKey Create(string? description) =>
        Store.Update(keys =>
        {
            KeyRecord key = Store.NewKey(description ?? string.Empty);
            keys.Add(key);
            return (key.ToPublic(Region), true);
        });

    /// <summary>Describes a key named by id, ARN, alias name or alias ARN.</summary>
    public LocalKmsKey Describe(string keyId) => Store.Read(keys => Find(keys, keyId, aliases: true).ToPublic(Region));

    public IReadOnlyList<LocalKmsKey> List() =>
        Store.Read(keys => (IReadOnlyList<LocalKmsKey>)keys.Where(k => !Store.IsDestroyed(k)).Select(k => k.ToPublic(Region)).ToList());

    /// <summary>One page of <c>ListKeys</c>, in creation order.</summary>
    /// <exception cref="KmsError"><c>ValidationException</c> for a limit outside 1..1000,
    /// <c>InvalidMarkerException</c> for a marker this server did not hand out.</exception>
    public (IReadOnlyList<LocalKmsKey> Keys, string? NextMarker) ListPage(int? limit, string? marker) =>
        Store.Read(keys =>
        {
            List<KeyRecord> live = keys.Where(k => !Store.IsDestroyed(k)).OrderBy(KeyPosition, StringComparer.Ordinal).ToList();
            (List<KeyRecord> page, string? next) = Page(live, KeyPosition, "keys", limit, DefaultKeysPage, MaxKeysPage, marker);
            return ((IReadOnlyList<LocalKmsKey>)page.Select(k => k.ToPublic(Region)).ToList(), next);
        });

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

            KeyRecord key = Find(keys, keyId);
            if (key.State == KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{ArnOf(key)} is pending deletion.");
            }

            key.State = KmsKeyStore.PendingDeletion;
            key.PendingWindowInDays = window;
            key.DeletionDate = Store.Now.AddDays(window);
            return (key.ToPublic(Region), true);
        });

    public LocalKmsKey CancelDeletion(string keyId) =>
        Store.Update(keys =>
        {
            KeyRecord key = Find(keys, keyId);
            if (key.State != KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{ArnOf(key)} is not pending deletion (it is {key.State}).");
            }

            key.State = KmsKeyStore.Disabled;
            key.DeletionDate = null;
            key.PendingWindowInDays = null;
            return (key.ToPublic(Region), true);
        });

    /// <summary>Runs <paramref name="use"/> with a key (named by id, ARN or alias) that may be used for cryptography.</summary>
    public T UseKey<T>(string keyId, Func<KeyRecord, T> use) =>
        Store.Read(keys =>
        {
            KeyRecord key = Find(keys, keyId, aliases: true);
            EnsureUsable(key);
            return use(key);
        });

    /// <summary>Decrypts a blob: the blob names its key; a given <paramref name="keyId"/> (id, ARN or
    /// alias) must be that key.</summary>
    public (byte[] Plaintext, string Arn) Decrypt(byte[] blob, string? keyId, IReadOnlyDictionary<string, string> context) =>
        Store.Read(keys =>
        {
            string blobKeyId = KmsCiphertext.KeyIdOf(blob);
            if (keyId is not null)
            {
                KeyRecord requested = Find(keys, keyId, aliases: true);
                if (requested.KeyId != blobKeyId)
                {
                    throw KmsError.IncorrectKey("The key ID in the request does not identify a CMK that can perform this operation.");
                }
            }

            KeyRecord key = Find(keys, blobKeyId);
            EnsureUsable(key);
            return (KmsCiphertext.Open(key, blob, context), ArnOf(key));
        });

    /// <summary>Creates <paramref name="aliasName"/> for a key named by id or key ARN (not by alias).</summary>
    /// <exception cref="KmsError"><c>ValidationException</c> or <c>InvalidAliasNameException</c> for a
    /// name AWS would refuse, <c>AlreadyExistsException</c>, <c>NotFoundException</c> for no such key,
    /// <c>KMSInvalidStateException</c> for a key pending deletion.</exception>
    public LocalKmsAlias CreateAlias(string? aliasName, string? targetKeyId)
    {
        string name = CheckAliasName(aliasName);
        return Store.Update(keys =>
        {
            if (Store.FindByAlias(keys, name) is not null)
            {
                throw KmsError.AlreadyExists($"An alias with the name {KmsKeyStore.AliasArnOf(name, Region)} already exists");
            }

            KeyRecord target = AliasTarget(keys, targetKeyId);
            DateTimeOffset now = Store.Now;
            var alias = new AliasRecord { Name = name, Created = now, LastUpdated = now };
            target.Aliases.Add(alias);
            return (alias.ToPublic(target.KeyId, Region), true);
        });
    }

    /// <summary>Points an existing alias at another key (id or key ARN).</summary>
    /// <exception cref="KmsError"><c>NotFoundException</c> for no such alias or key,
    /// <c>KMSInvalidStateException</c> for a key pending deletion.</exception>
    public LocalKmsAlias UpdateAlias(string? aliasName, string? targetKeyId)
    {
        string name = RequireAliasPrefix(aliasName);
        return Store.Update(keys =>
        {
            KeyRecord current = Store.FindByAlias(keys, name) ?? throw AliasNotFound(name);
            KeyRecord target = AliasTarget(keys, targetKeyId);
            AliasRecord alias = current.Aliases.Find(a => a.Name == name)!;
            current.Aliases.Remove(alias);
            alias.LastUpdated = Store.Now;
            target.Aliases.Add(alias);
            return (alias.ToPublic(target.KeyId, Region), true);
        });
    }

    /// <summary>Deletes an alias; its key is unaffected.</summary>
    /// <exception cref="KmsError"><c>NotFoundException</c> for no such alias.</exception>
    public LocalKmsAlias DeleteAlias(string? aliasName)
    {
        string name = RequireAliasPrefix(aliasName);
        return Store.Update(keys =>
        {
            KeyRecord key = Store.FindByAlias(keys, name) ?? throw AliasNotFound(name);
            AliasRecord alias = key.Aliases.Find(a => a.Name == name)!;
            key.Aliases.Remove(alias);
            return (alias.ToPublic(key.KeyId, Region), true);
        });
    }

    /// <summary>One page of <c>ListAliases</c>, by name; only <paramref name="keyId"/>'s (id or key ARN) when given.</summary>
    /// <exception cref="KmsError"><c>ValidationException</c> for a limit outside 1..100,
    /// <c>InvalidMarkerException</c>, <c>NotFoundException</c> for no such key.</exception>
    public (IReadOnlyList<LocalKmsAlias> Aliases, string? NextMarker) ListAliasesPage(string? keyId, int? limit, string? marker) =>
        Store.Read(keys =>
        {
            string? only = keyId is null ? null : Find(keys, keyId).KeyId;
            List<LocalKmsAlias> all = keys
                .Where(k => !Store.IsDestroyed(k) && (only is null || k.KeyId == only))
                .SelectMany(k => k.Aliases.Select(a => a.ToPublic(k.KeyId, Region)))
                .OrderBy(a => a.Name, StringComparer.Ordinal)
                .ToList();
            (List<LocalKmsAlias> page, string? next) = Page(all, a => a.Name, "aliases", limit, DefaultAliasesPage, MaxAliasesPage, marker);
            return ((IReadOnlyList<LocalKmsAlias>)page, next);
        });

    /// <summary>Every alias, by name (operator commands).</summary>
    public IReadOnlyList<LocalKmsAlias> ListAliases() =>
        Store.Read(keys => (IReadOnlyList<LocalKmsAlias>)keys
            .Where(k => !Store.IsDestroyed(k))
            .SelectMany(k => k.Aliases.Select(a => a.ToPublic(k.KeyId, Region)))
            .OrderBy(a => a.Name, StringComparer.Ordinal)
            .ToList());

    private KeyRecord Find(List<KeyRecord> keys, string? keyId, bool aliases = false) => Store.Find(keys, keyId, Region, aliases);

    private string ArnOf(KeyRecord key) => KmsKeyStore.ArnOf(key.KeyId, Region);

    private KmsError AliasNotFound(string name) => KmsError.NotFound($"Alias {KmsKeyStore.AliasArnOf(name, Region)} is not found.");

    /// <summary>The key an alias is to point to: named by id or key ARN, and not pending deletion.</summary>
    private KeyRecord AliasTarget(List<KeyRecord> keys, string? targetKeyId)
    {
        if (targetKeyId is not null && (targetKeyId.StartsWith(AliasPrefix, StringComparison.Ordinal) || targetKeyId.Contains(":" + AliasPrefix, StringComparison.Ordinal)))
        {
            throw KmsError.Validation("Aliases must refer to keys. Not aliases");
        }

        KeyRecord target = Find(keys, targetKeyId);
        if (target.State == KmsKeyStore.PendingDeletion)
        {
            throw KmsError.InvalidState($"{ArnOf(target)} is pending deletion.");
        }

        return target;
    }

    private static string RequireAliasPrefix(string? aliasName)
    {
        if (string.IsNullOrEmpty(aliasName))
        {
            throw KmsError.Validation("1 validation error detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null");
        }

        return aliasName.StartsWith(AliasPrefix, StringComparison.Ordinal)
            ? aliasName
            : throw KmsError.Validation($"Invalid identifier: alias names begin with '{AliasPrefix}' (got '{aliasName}')");
    }

    /// <summary>AWS's rules for a new alias name: 1 to 256 characters of <c>[a-zA-Z0-9/_-]</c>,
    /// <c>alias/</c> followed by a name, never under the <c>alias/aws/</c> prefix AWS reserves for its
    /// managed keys.</summary>
    private static string CheckAliasName(string? aliasName)
    {
        string name = RequireAliasPrefix(aliasName);
        if (name.Length > MaxAliasName || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or ':'))
        {
            throw KmsError.Validation($"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to {MaxAliasName} and satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
        }

        if (name.Contains(':', StringComparison.Ordinal))
        {
            throw KmsError.InvalidAliasName($"{name} contains invalid characters for an alias: ':' is not allowed");
        }

        if (name.Length == AliasPrefix.Length)
        {
            throw KmsError.InvalidAliasName($"'{name}' has no name after '{AliasPrefix}'");
        }

        if (name.StartsWith(ReservedAliasPrefix, StringComparison.Ordinal))
        {
            throw KmsError.InvalidAliasName($"{name}: the '{ReservedAliasPrefix}' prefix is reserved for AWS managed keys");
        }

        return name;
    }

    /// <summary>A key's place in the listing: creation time, then id (fixed width, so ordinal order is time order).</summary>
    private static string KeyPosition(KeyRecord key) =>
        key.Created.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "/" + key.KeyId;

    /// <summary>
    /// AWS-style paging over <paramref name="ordered"/>: at most <paramref name="limit"/> items after the
    /// position the marker names. The marker encodes the last item returned (not an index), so a
    /// deletion between two pages neither skips nor repeats an item.
    /// </summary>
    private static (List<T> Page, string? NextMarker) Page<T>(
        List<T> ordered, Func<T, string> position, string kind, int? limit, int defaultLimit, int maxLimit, string? marker)
    {
        int size = limit ?? defaultLimit;
        if (size < 1 || size > maxLimit)
        {
            throw KmsError.Validation($"1 validation error detected: Value '{size}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {maxLimit}");
        }

        IEnumerable<T> rest = ordered;
        if (marker is not null)
        {
            string after = DecodeMarker(marker, kind);
            rest = ordered.Where(item => string.CompareOrdinal(position(item), after) > 0);
        }

        List<T> remaining = rest.ToList();
        if (remaining.Count <= size)
        {
            return (remaining, null);
        }

        List<T> page = remaining.GetRange(0, size);
        return (page, EncodeMarker(kind, position(page[^1])));
    }

    private static string EncodeMarker(string kind, string position) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(kind + "\n" + position));

    private static string DecodeMarker(string marker, string kind)
    {
        try
        {
            string text = Encoding.UTF8.GetString(Convert.FromBase64String(marker));
            int newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline > 0 && text[..newline] == kind)
            {
                return text[(newline + 1)..];
            }
        }
        catch (FormatException)
        {
        }

        throw KmsError.InvalidMarker("The request was rejected because the marker that specifies where pagination should next begin is not valid.");
    }

    private void EnsureUsable(KeyRecord key)
    {
        switch (key.State)
        {
            case KmsKeyStore.Enabled:
                return;
            case KmsKeyStore.Disabled:
                throw KmsError.Disabled($"{ArnOf(key)} is disabled.");
            default:
                throw KmsError.InvalidState($"{ArnOf(key)} is pending deletion.");
        }
    }

    private LocalKmsKey SetState(string keyId, string state) =>
        Store.Update(keys =>
        {
            KeyRecord key = Find(keys, keyId);
            if (key.State == KmsKeyStore.PendingDeletion)
            {
                throw KmsError.InvalidState($"{ArnOf(key)} is pending deletion.");
            }

            bool changed = key.State != state;
            key.State = state;
            return (key.ToPublic(Region), changed);
        });
}
