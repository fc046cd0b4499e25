namespace Engine.Crypto;

/// <summary>The KEK versions of one scope; immutable once published.</summary>
internal sealed class KekChain
{
    public KekChain(KeyScope scope, uint current, IReadOnlyDictionary<uint, Kek> versions)
    {
        if (!versions.ContainsKey(current))
        {
            throw new ArgumentException($"current version {current} of {scope} is not among its versions", nameof(current));
        }

        Scope = scope;
        Current = current;
        Versions = versions;
    }

    public KeyScope Scope { get; }

    /// <summary>The version new DEKs are wrapped under.</summary>
    public uint Current { get; }

    public IReadOnlyDictionary<uint, Kek> Versions { get; }

    public Kek CurrentKek => Versions[Current];

    public static KekChain CreateNew(KeyScope scope) =>
        new(scope, 1, new Dictionary<uint, Kek> { [1] = Kek.Generate(scope, 1) });

    /// <summary>A chain with a new current version; the existing handles are shared, not copied.</summary>
    public KekChain WithNewVersion()
    {
        uint next = checked(Versions.Keys.Max() + 1);
        var versions = new Dictionary<uint, Kek>(Versions) { [next] = Kek.Generate(Scope, next) };
        return new KekChain(Scope, next, versions);
    }

    /// <summary>A chain without <paramref name="retired"/> (never the current version); the kept handles are shared.</summary>
    public KekChain WithoutVersions(IReadOnlyCollection<uint> retired)
    {
        if (retired.Contains(Current))
        {
            throw new ArgumentException($"the current version {Current} of {Scope} cannot be removed", nameof(retired));
        }

        return new KekChain(Scope, Current, Versions.Where(p => !retired.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value));
    }

    public void DisposeAll()
    {
        foreach (Kek kek in Versions.Values)
        {
            kek.Dispose();
        }
    }
}

/// <summary>A namespace with its KEK versions.</summary>
internal sealed record NamespaceEntry(NamespaceInfo Info, KekChain Keys);

/// <summary>
/// One immutable snapshot of the registry's contents. Readers on any thread take the current
/// snapshot with a volatile read; writers (serialized) build a new snapshot, persist it, then
/// publish it. Key handles are shared between consecutive snapshots.
/// </summary>
internal sealed class KeyringState
{
    public KeyringState(uint nextNamespaceId, KekChain system, IEnumerable<NamespaceEntry> namespaces, IEnumerable<uint>? pendingShreds = null)
    {
        NextNamespaceId = nextNamespaceId;
        System = system;
        PendingShreds = [.. (pendingShreds ?? []).Distinct().Order()];
        if (PendingShreds.Any(id => id == 0 || id >= nextNamespaceId))
        {
            throw new ArgumentException($"a pending crypto-shred names an id outside 1..{nextNamespaceId - 1}", nameof(pendingShreds));
        }

        var byId = new Dictionary<uint, NamespaceEntry>();
        var byName = new Dictionary<string, NamespaceEntry>(StringComparer.Ordinal);
        foreach (NamespaceEntry entry in namespaces)
        {
            if (entry.Info.Id == 0 || entry.Info.Id >= nextNamespaceId)
            {
                throw new ArgumentException($"namespace id {entry.Info.Id} is outside 1..{nextNamespaceId - 1}", nameof(namespaces));
            }

            if (!byId.TryAdd(entry.Info.Id, entry) || !byName.TryAdd(entry.Info.Name, entry))
            {
                throw new ArgumentException($"duplicate namespace {entry.Info}", nameof(namespaces));
            }
        }

        ById = byId;
        ByName = byName;
        Namespaces = [.. byId.Values.Select(e => e.Info).OrderBy(i => i.Id)];
    }

    public uint NextNamespaceId { get; }

    public KekChain System { get; }

    /// <summary>
    /// Ids of namespaces whose deletion was started and not finished, ascending. Kept here, sealed
    /// under the root KEK, so that nothing but an authenticated registry can start a crypto-shred.
    /// </summary>
    public IReadOnlyList<uint> PendingShreds { get; }

    /// <summary>This state with <paramref name="pending"/> as its pending crypto-shreds.</summary>
    public KeyringState WithPendingShreds(IEnumerable<uint> pending) => new(NextNamespaceId, System, ById.Values, pending);

    public IReadOnlyDictionary<uint, NamespaceEntry> ById { get; }

    public IReadOnlyDictionary<string, NamespaceEntry> ByName { get; }

    /// <summary>Ordered by id.</summary>
    public IReadOnlyList<NamespaceInfo> Namespaces { get; }

    public IEnumerable<KekChain> Chains => ById.Values.OrderBy(e => e.Info.Id).Select(e => e.Keys).Prepend(System);

    /// <summary>The chain of a persistent scope, or null (unknown namespace, or not persistent).</summary>
    public KekChain? ChainOf(KeyScope scope) => scope.Kind switch
    {
        KeyScopeKind.System when scope.NamespaceId == 0 => System,
        KeyScopeKind.Namespace when ById.TryGetValue(scope.NamespaceId, out NamespaceEntry? e) => e.Keys,
        _ => null,
    };
}
