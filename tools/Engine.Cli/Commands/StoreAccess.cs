using Engine.Crypto;

namespace Engine.Cli.Commands;

/// <summary>
/// Opens stores for the verbs that work on an existing store. These must never create one: a typo
/// in --store would otherwise leave a fresh, empty store behind and report success.
/// </summary>
internal static class StoreAccess
{
    /// <summary>The <c>--store-id</c> given on the command line, or null: pinned into every open of an existing store.</summary>
    public static string? ExpectedStoreId { get; set; }

    /// <summary>Opens the store at <paramref name="dir"/> with its recorded CMEK, or <paramref name="cmekUri"/> when given.</summary>
    /// <param name="dir">The store directory.</param>
    /// <param name="cmekUri">A CMEK URI overriding the recorded one, or null.</param>
    /// <param name="configure">Sets further options (check interval, key cache TTL) before the open; null for defaults.</param>
    /// <exception cref="UsageException">The path does not exist or is not a store.</exception>
    public static EncryptedStore OpenExisting(string dir, string? cmekUri, Action<StoreOptions>? configure = null)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full))
        {
            throw new UsageException($"{full} is a file, not a store directory");
        }
        if (!Directory.Exists(full))
        {
            throw new UsageException($"no store at {full}: the directory does not exist (create one with: engine init --store DIR --cmek file:KEYFILE)");
        }
        // Checked here for a usage error (exit 2) rather than the engine's generic EngineException (5);
        // CreateIfMissing=false below still guarantees that no store is ever created by mistake.
        if (!EncryptedStore.Exists(full))
        {
            throw new UsageException($"{full} is not an encrypted store (it has no key registry)");
        }
        var options = new StoreOptions { Path = full, CmekUri = cmekUri, CreateIfMissing = false, ExpectedStoreId = ExpectedStoreId };
        configure?.Invoke(options);
        return EncryptedStore.Open(options);
    }

    /// <summary>
    /// Whether <paramref name="dir"/> is a store. The engine owns that definition (its key registry,
    /// either generation); the CLI asks it rather than looking for files itself.
    /// </summary>
    public static bool IsStore(string dir) => EncryptedStore.Exists(dir);

    /// <summary>Returns an existing namespace; reads never create one.</summary>
    /// <exception cref="UsageException">The store has no namespace of that name.</exception>
    public static StoreNamespace RequireNamespace(EncryptedStore store, string name)
    {
        if (store.TryGetNamespace(name, out StoreNamespace? ns))
        {
            return ns;
        }
        IReadOnlyList<string> known = store.ListNamespaces();
        string list = known.Count == 0 ? "none yet" : string.Join(", ", known);
        throw new UsageException($"the store at {store.Path} has no namespace '{name}' (namespaces: {list})");
    }

    /// <summary>
    /// The key file named by a <c>file:</c> CMEK URI, resolved to an absolute path; null for other
    /// schemes and for shapes <see cref="CmekProviders.Open"/> rejects (it then explains why).
    /// </summary>
    public static string? LocalKeyPath(string cmekUri)
    {
        const string scheme = CmekProviders.FileScheme + ":";
        if (!cmekUri.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        string rest = cmekUri[scheme.Length..];
        if (rest.StartsWith("///", StringComparison.Ordinal))
        {
            rest = rest[2..];
        }
        else if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            return null;
        }
        return rest.Length == 0 ? null : Path.GetFullPath(rest);
    }
}
