using Engine.Crypto;

namespace Engine;

/// <summary>The files of one key scope on disk (a snapshot: RocksDB may delete any of them at any time).</summary>
internal static class ScopeFileList
{
    /// <summary>
    /// System scope: the files in the store root that go through the plugin (not LOCK, not the key
    /// registry). A namespace: the files of its directory. Never temp files (per-boot keys).
    /// </summary>
    public static IEnumerable<string> Of(StoreLayout layout, KeyScope scope)
    {
        string dir = scope.Kind switch
        {
            KeyScopeKind.System => layout.Root,
            KeyScopeKind.Namespace => layout.NamespaceDirectory(scope.NamespaceId),
            _ => throw new ArgumentException($"scope {scope} has no files of its own", nameof(scope)),
        };
        if (!Directory.Exists(dir))
        {
            return [];
        }

        try
        {
            return [.. Directory.EnumerateFiles(dir).Where(f => IsKeyedFile(scope, Path.GetFileName(f))).Order(StringComparer.Ordinal)];
        }
        catch (DirectoryNotFoundException)
        {
            return []; // deleted meanwhile (namespace deletion)
        }
    }

    private static bool IsKeyedFile(KeyScope scope, string name) =>
        scope.Kind != KeyScopeKind.System
        || (name != "LOCK" && !name.StartsWith(KeyRegistry.FileName, StringComparison.Ordinal));
}

/// <summary>The header reader/re-wrapper of a session.</summary>
internal static class FileHeaderAccess
{
    public static IFileHeaders For(StoreSession session) => new NativeFileHeaders(session.Env);
}
