namespace Engine.Crypto;

/// <summary>A namespace as recorded in the key registry: its permanent id and its name.</summary>
/// <param name="Id">Never reused, even after the namespace is deleted (1, 2, 3, ...; 0 is the system scope).</param>
/// <param name="Name">Unique among live namespaces.</param>
internal sealed record NamespaceInfo(uint Id, string Name);
