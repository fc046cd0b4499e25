using System.Text;
using Engine.Crypto;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>Longest namespace name, in UTF-8 bytes.</summary>
    public const int MaxNamespaceNameBytes = 200;

    /// <summary>
    /// Returns the namespace called <paramref name="name"/>, creating it (with its own key-encryption
    /// key and directory) on first use.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, too long, or contains control characters or broken UTF-16.</exception>
    /// <exception cref="StoreReadOnlyException">The namespace does not exist and the store is open read-only.</exception>
    /// <exception cref="InvalidOperationException">A namespace import of that name is in progress.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public StoreNamespace GetNamespace(string name)
    {
        ValidateNamespaceName(name);
        return Run(session =>
        {
            lock (_namespaceSync)
            {
                if (_namespaces.TryGetValue(name, out StoreNamespace? existing))
                {
                    return existing;
                }
                // The registry entry (and its KEK) is durable before any file of the namespace exists,
                // so a crash in between leaves an empty namespace, never files without a key.
                if (!session.Registry.TryGetNamespace(name, out NamespaceInfo? info))
                {
                    ThrowIfReadOnly($"Creating namespace '{name}'");
                    info = session.Registry.CreateNamespace(name);
                }
                else if (session.Registry.PendingShreds.Contains(info.Id))
                {
                    // An import in progress (Engine/Moves) or an unfinished deletion: using it now would
                    // write into a namespace that is about to be committed by someone else or destroyed.
                    throw new InvalidOperationException($"The namespace '{name}' is being imported or deleted; use it once that has finished.");
                }
                session.HandleOf(info);
                var ns = new StoreNamespace(this, info);
                _namespaces[name] = ns;
                return ns;
            }
        });
    }

    /// <summary>Returns the namespace called <paramref name="name"/> if it exists; never creates one.</summary>
    /// <exception cref="ArgumentException">The name is not a valid namespace name.</exception>
    public bool TryGetNamespace(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoreNamespace? ns)
    {
        ValidateNamespaceName(name);
        _gate.Enter();
        try
        {
            lock (_namespaceSync)
            {
                return _namespaces.TryGetValue(name, out ns);
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Names of all namespaces, in ordinal order.</summary>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public IReadOnlyList<string> ListNamespaces()
    {
        _gate.Enter();
        try
        {
            lock (_namespaceSync)
            {
                return [.. _namespaces.Keys.Order(StringComparer.Ordinal)];
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>
    /// Deletes namespace <paramref name="name"/> and crypto-shreds it (through <see cref="Keys"/>): its
    /// column family is dropped, every version of its KEK is destroyed in both registry generations on
    /// disk and zeroed in memory, and its directory is deleted. Its files, and any copy of them, can no
    /// longer be decrypted by this store or with any later registry. Crash-safe: an interrupted
    /// deletion is finished at the next open.
    /// </summary>
    /// <remarks>A copy of the whole store directory taken before (or a backup of its KEYRING file)
    /// still holds the KEK under the root key wrapped by the CMEK: it stays readable for whoever can use
    /// that CMEK until the CMEK is rotated (<see cref="StoreKeys.RotateCmek(string)"/>) and the old key
    /// destroyed. See docs/key-rotation.md.</remarks>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="IOException">A step failed; the next open finishes the deletion.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    public void DeleteNamespace(string name)
    {
        ValidateNamespaceName(name);
        ThrowIfReadOnly("DeleteNamespace");
        _keys.ShredNamespace(name);
    }

    /// <summary>Removes namespace <paramref name="name"/> from the store's view (the first step of its deletion).</summary>
    /// <exception cref="ArgumentException">No namespace of that name.</exception>
    internal NamespaceInfo DetachNamespace(string name)
    {
        lock (_namespaceSync)
        {
            if (!_namespaces.Remove(name, out StoreNamespace? ns))
            {
                throw new ArgumentException($"The store has no namespace '{name}'.", nameof(name));
            }
            ns.Removed = true;
            return ns.Info;
        }
    }

    /// <summary>Removes every namespace with id <paramref name="id"/> from the store's view (an interrupted deletion being finished).</summary>
    internal void DetachNamespaces(uint id)
    {
        lock (_namespaceSync)
        {
            foreach (string name in _namespaces.Where(p => p.Value.Info.Id == id).Select(p => p.Key).ToList())
            {
                _namespaces.Remove(name, out StoreNamespace? removed);
                removed!.Removed = true;
            }
        }
    }

    internal static void ValidateNamespaceName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            throw new ArgumentException("A namespace name cannot be empty.", nameof(name));
        }
        if (name.Any(char.IsControl))
        {
            throw new ArgumentException("A namespace name cannot contain control characters.", nameof(name));
        }
        int bytes;
        try
        {
            bytes = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(name);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("A namespace name must be valid Unicode (it contains a lone surrogate).", nameof(name), ex);
        }
        if (bytes > MaxNamespaceNameBytes)
        {
            throw new ArgumentException($"A namespace name can be at most {MaxNamespaceNameBytes} UTF-8 bytes; this one has {bytes}.", nameof(name));
        }
    }
}
