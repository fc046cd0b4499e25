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
    public NamespaceInfo CreateNamespaceForImport(string name)
    {
        ValidateName(name);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            KeyringState state = _state;
            if (state.ByName.TryGetValue(name, out NamespaceEntry? existing))
            {
                throw new ArgumentException($"namespace '{name}' already exists (id {existing.Info.Id})", nameof(name));
            }

            if (state.NextNamespaceId == uint.MaxValue)
            {
                throw new EngineException("namespace ids are exhausted");
            }

            var info = new NamespaceInfo(state.NextNamespaceId, name);
            KekChain chain = KekChain.CreateNew(KeyScope.ForNamespace(info.Id));
            var next = new KeyringState(
                state.NextNamespaceId + 1,
                state.System,
                state.ById.Values.Append(new NamespaceEntry(info, chain)),
                state.PendingShreds.Append(info.Id));
            try
            {
                Persist(next, shred: false);
            }
            catch
            {
                chain.DisposeAll();
                throw;
            }

            return info;
        }
    }
}
