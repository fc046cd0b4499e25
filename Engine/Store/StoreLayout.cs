using System.Globalization;
using Engine.Crypto;

namespace Engine;

/// <summary>
/// Where things live inside a store directory, and which key scope a path belongs to. The plugin
/// learns a file's namespace from its path alone, so namespaces get their own directories
/// (<c>ns/&lt;id&gt;/</c>, set as the column family's <c>cf_paths</c>) and an SST never mixes namespaces.
/// </summary>
internal sealed class StoreLayout
{
    public const string NamespacesDir = "ns";
    public const string TempDir = "tmp";

    public StoreLayout(string root)
    {
        Root = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(root));
        _nsPrefix = Root + "/" + NamespacesDir + "/";
        _tmpPrefix = Root + "/" + TempDir + "/";
    }

    private readonly string _nsPrefix;
    private readonly string _tmpPrefix;

    public string Root { get; }

    public string NamespaceDirectory(uint id) => _nsPrefix + id.ToString(CultureInfo.InvariantCulture);

    public string TempDirectory => _tmpPrefix.TrimEnd('/');

    /// <summary>Column family name for a namespace id: stable, independent of the user's name.</summary>
    public static string ColumnFamilyName(uint id) => "ns-" + id.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseColumnFamily(string cfName, out uint id)
    {
        id = 0;
        return cfName.StartsWith("ns-", StringComparison.Ordinal)
            && uint.TryParse(cfName.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }

    /// <summary>Key scope of a file: namespace files by directory, temp files ephemeral, the rest system.</summary>
    public KeyScope ScopeOf(string path)
    {
        string full = Normalize(path);
        if (full.StartsWith(_nsPrefix, StringComparison.Ordinal))
        {
            ReadOnlySpan<char> rest = full.AsSpan(_nsPrefix.Length);
            int slash = rest.IndexOf('/');
            if (slash > 0 && uint.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
            {
                return new KeyScope(KeyScopeKind.Namespace, id);
            }
        }
        if (full.StartsWith(_tmpPrefix, StringComparison.Ordinal))
        {
            return new KeyScope(KeyScopeKind.Ephemeral, 0);
        }
        return new KeyScope(KeyScopeKind.System, 0);
    }

    private static string Normalize(string path)
    {
        // RocksDB joins paths itself ("dir//000012.sst"); fold that without touching the disk.
        return path.Contains("//", StringComparison.Ordinal) || path.Contains("/./", StringComparison.Ordinal)
            ? System.IO.Path.GetFullPath(path)
            : path;
    }
}
