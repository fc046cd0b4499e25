using System.Globalization;
using Engine.Crypto;

namespace Engine;

/// <summary>The store's identity, epoch and what its open found and refused (issue 12).</summary>
public sealed partial class EncryptedStore
{
    private readonly Lock _openNotesSync = new();
    private readonly List<string> _openNotes = [];

    /// <summary>
    /// The store's id: 32 lowercase hex digits chosen at creation, stable for the store's life (also
    /// through every key rotation). Pin it with <see cref="StoreOptions.ExpectedStoreId"/>.
    /// </summary>
    public string StoreId { get; }

    /// <summary>
    /// The store epoch: the generation of the key registry, which grows with every registry write (key
    /// changes, namespace creation and deletion) and every clean close, and never goes back. With
    /// <see cref="StoreOptions.RollbackAnchor"/> a store whose epoch is below the anchor's does not open.
    /// </summary>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    public ulong Epoch => Run(s => s.Registry.Generation);

    /// <summary>
    /// What opening the store found and did not act on, or recovered from, one line each: marker files
    /// ignored because nothing authenticated asked for them, a key registry read from its previous
    /// generation because the newer copy was torn. Empty for a clean open.
    /// </summary>
    public IReadOnlyList<string> OpenNotes
    {
        get
        {
            lock (_openNotesSync)
            {
                return [.. _openNotes];
            }
        }
    }

    internal void AddOpenNote(string note)
    {
        lock (_openNotesSync)
        {
            _openNotes.Add(note);
        }
    }

    /// <summary>
    /// The pinned store id against the registry header, before the CMEK is asked and before anything
    /// else in the directory is read or changed. The header's id is not secret but it is bound: it is
    /// the CMEK wrap context of the root key, so a header edited to match fails to unwrap.
    /// </summary>
    /// <exception cref="IntegrityException">The directory holds another store.</exception>
    private static void CheckExpectedStoreId(string root, StoreOptions options, string? actual)
    {
        if (options.ExpectedStoreId is { } expected && actual is not null
            && !string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityException(
                string.Create(CultureInfo.InvariantCulture, $"{root} holds store {actual}, not the expected store {expected.ToLowerInvariant()} (StoreOptions.ExpectedStoreId): the directory was swapped or the path is wrong; nothing was read"),
                System.IO.Path.Combine(root, KeyRegistry.FileName));
        }
    }
}
