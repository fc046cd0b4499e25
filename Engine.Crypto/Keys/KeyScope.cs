using System.Globalization;

namespace Engine.Crypto;

/// <summary>Which part of the key hierarchy a file's DEK is wrapped under.</summary>
internal enum KeyScopeKind : byte
{
    /// <summary>Store-wide files: WAL, MANIFEST, OPTIONS, CURRENT, IDENTITY, LOG, ...</summary>
    System = 0,

    /// <summary>Files of one namespace (its column family directory).</summary>
    Namespace = 1,

    /// <summary>Temp/spill files, under the per-boot key that never leaves memory.</summary>
    Ephemeral = 2,
}

/// <summary>
/// A key scope: the kind plus, for <see cref="KeyScopeKind.Namespace"/>, the namespace id
/// (0 for the other kinds).
/// </summary>
internal readonly record struct KeyScope(KeyScopeKind Kind, uint NamespaceId)
{
    public static KeyScope System => new(KeyScopeKind.System, 0);

    public static KeyScope Ephemeral => new(KeyScopeKind.Ephemeral, 0);

    public static KeyScope ForNamespace(uint namespaceId) => new(KeyScopeKind.Namespace, namespaceId);

    /// <summary>"system", "namespace:3", "ephemeral" (or "kind7:3" for an unknown kind).</summary>
    public override string ToString() => Kind switch
    {
        KeyScopeKind.System when NamespaceId == 0 => "system",
        KeyScopeKind.Ephemeral when NamespaceId == 0 => "ephemeral",
        KeyScopeKind.Namespace => string.Create(CultureInfo.InvariantCulture, $"namespace:{NamespaceId}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Kind.ToString().ToLowerInvariant()}:{NamespaceId}"),
    };
}
