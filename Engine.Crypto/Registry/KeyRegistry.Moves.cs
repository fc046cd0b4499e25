namespace Engine.Crypto;

/// <summary>The registry's part of a namespace import (Engine/Moves): a namespace that exists only to be finished or shredded.</summary>
internal sealed partial class KeyRegistry
{
    /// <summary>
    /// Creates a namespace with a new id and KEK v1 that is already listed as a pending crypto-shred,
    /// in one registry write: until <see cref="ClearPendingShred"/> commits it, a crash at any point
    /// makes the next open delete it (column family, KEK, directory), so an interrupted import never
    /// leaves a namespace behind.
    /// </summary>
    /// <exception cref="ArgumentException">The name is invalid or exists.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="IOException">The registry could not be written; nothing changed.</exception>
    public NamespaceInfo CreateNamespaceForImport(string name) => CreateNamespace(name, pendingShred: true);
}
