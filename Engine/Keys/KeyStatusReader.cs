using Engine.Crypto;

namespace Engine;

/// <summary>Builds a <see cref="KeyStatusReport"/> from the registry and the header of every live file.</summary>
internal static class KeyStatusReader
{
    public static KeyStatusReport Read(StoreSession session, StoreLayout layout)
    {
        IFileHeaders headers = FileHeaderAccess.For(session);
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

            scopes.Add(ReadScope(headers, layout, chain, name, id));
        }

        return new KeyStatusReport(session.Registry.CmekUri, scopes);
    }

    private static ScopeKeyStatus ReadScope(IFileHeaders headers, StoreLayout layout, KekChainInfo chain, string name, uint? id)
    {
        var files = new SortedDictionary<uint, (int Files, long Bytes)>();
        foreach (uint version in chain.Versions)
        {
            files[version] = (0, 0);
        }

        int empty = 0;
        int unreadable = 0;
        foreach (string file in ScopeFileList.Of(layout, chain.Scope))
        {
            switch (headers.Read(file, out FileHeaderInfo info, out _))
            {
                case HeaderState.Ok when info.Scope == chain.Scope:
                    long bytes = SizeOf(file);
                    if (bytes < 0)
                    {
                        break; // deleted after its header was read
                    }

                    (int f, long b) = files.GetValueOrDefault(info.KekVersion);
                    files[info.KekVersion] = (f + 1, b + bytes);
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

        int totalFiles = files.Values.Sum(v => v.Files);
        long totalBytes = files.Values.Sum(v => v.Bytes);
        KekVersionUsage[] usage =
        [
            .. files.Select(p => new KekVersionUsage(
                p.Key,
                chain.Versions.Contains(p.Key),
                p.Value.Files,
                p.Value.Bytes,
                totalFiles == 0 ? 0 : (double)p.Value.Files / totalFiles,
                totalBytes == 0 ? 0 : (double)p.Value.Bytes / totalBytes)),
        ];
        return new ScopeKeyStatus(name, id, chain.Current, chain.Versions, usage, empty, unreadable, chain.HasRetirableVersions);
    }

    private static long SizeOf(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? info.Length : -1;
    }
}
