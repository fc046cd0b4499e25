using Engine.Crypto;
using Engine.Files;

namespace Engine;

/// <summary>Builds a <see cref="KeyStatusReport"/> from the registry and the header of every live file.</summary>
internal static class KeyStatusReader
{
    public static KeyStatusReport Read(StoreSession session, StoreLayout layout)
    {
        using StoreFiles files = StoreFiles.Open(session);
        var scopes = new List<ScopeKeyStatus>();
        foreach (KekChainInfo chain in session.Registry.Chains)
        {
            string name = "system";
            uint? id = null;
            if (chain.Scope.Kind == KeyScopeKind.Namespace)
            {
                id = chain.Scope.NamespaceId;
                name = session.Registry.TryGetNamespace(chain.Scope.NamespaceId, out NamespaceInfo? ns) ? ns.Name : $"#{id}";
            }

            scopes.Add(ReadScope(files, layout, chain, name, id));
        }

        return new KeyStatusReport(session.Registry.CmekUri, scopes) { StoreId = session.Registry.StoreIdHex, Epoch = session.Registry.Generation };
    }

    private static ScopeKeyStatus ReadScope(StoreFiles files, StoreLayout layout, KekChainInfo chain, string name, uint? id)
    {
        var usage = new SortedDictionary<uint, (int Files, long Bytes)>();
        foreach (uint version in chain.Versions)
        {
            usage[version] = (0, 0);
        }

        int empty = 0;
        int unreadable = 0;
        foreach (string file in files.ScopeFiles(layout, chain.Scope))
        {
            switch (files.ReadHeader(file, out FileHeaderInfo info, out _))
            {
                case HeaderState.Ok when info.Scope == chain.Scope:
                    long bytes = files.SizeOf(file);
                    if (bytes < 0)
                    {
                        break; // deleted after its header was read
                    }

                    (int f, long b) = usage.GetValueOrDefault(info.KekVersion);
                    usage[info.KekVersion] = (f + 1, b + bytes);
                    break;
                case HeaderState.Empty:
                    empty++;
                    break;
                case HeaderState.Missing:
                    break;
                default:
                    unreadable++;
                    break;
            }
        }

        int totalFiles = usage.Values.Sum(v => v.Files);
        long totalBytes = usage.Values.Sum(v => v.Bytes);
        KekVersionUsage[] versions =
        [
            .. usage.Select(p => new KekVersionUsage(
                p.Key,
                chain.Versions.Contains(p.Key),
                p.Value.Files,
                p.Value.Bytes,
                totalFiles == 0 ? 0 : (double)p.Value.Files / totalFiles,
                totalBytes == 0 ? 0 : (double)p.Value.Bytes / totalBytes)),
        ];
        return new ScopeKeyStatus(name, id, chain.Current, chain.Versions, versions, empty, unreadable, chain.HasRetirableVersions);
    }
}
