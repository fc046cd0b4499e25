using Engine.Crypto;
using Engine.Moves;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>
    /// Exports namespace <paramref name="name"/> for a move to another store, without decrypting its
    /// data: the namespace is flushed, its SST files are copied as stored (ciphertext), and only the DEK
    /// envelope in each copy's header is re-wrapped, from the namespace KEK to a fresh transfer KEK that
    /// is wrapped by <paramref name="targetCmekUri"/> (the target store's CMEK). An authenticated manifest,
    /// sealed under the transfer KEK, is written last. The source keeps the namespace; delete it
    /// afterwards (<see cref="DeleteNamespace"/>) to finish a move and crypto-shred the source copy.
    /// Writes made to the namespace after the flush are not exported.
    /// </summary>
    /// <param name="name">The namespace to export.</param>
    /// <param name="directory">A new or empty directory for the export.</param>
    /// <param name="targetCmekUri">URI of the target store's CMEK (<see cref="CmekProviders.Open(string)"/>).</param>
    /// <param name="ct">Cancels the export; a cancelled export removes what it wrote.</param>
    /// <exception cref="ArgumentException">No such namespace, or the directory is not empty.</exception>
    /// <exception cref="KeyUnavailableException">The target CMEK cannot wrap the transfer key, or the store is locked.</exception>
    /// <exception cref="IntegrityException">A source file failed authentication.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only (an export flushes).</exception>
    /// <exception cref="NotSupportedException">An in-memory store.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task<NamespaceExportResult> ExportNamespaceAsync(string name, string directory, string targetCmekUri, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetCmekUri);
        using ICmekProvider target = CmekProviders.Open(targetCmekUri);
        return await ExportNamespaceAsync(name, directory, target, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="ExportNamespaceAsync(string, string, string, CancellationToken)"/> with the target's CMEK
    /// as a provider (not disposed here).
    /// </summary>
    /// <inheritdoc cref="ExportNamespaceAsync(string, string, string, CancellationToken)" path="/exception"/>
    public Task<NamespaceExportResult> ExportNamespaceAsync(string name, string directory, ICmekProvider targetCmek, CancellationToken ct = default) =>
        NamespaceExporter.ExportAsync(this, name, directory, targetCmek, ct);

    /// <summary>
    /// Imports a namespace export (<see cref="ExportNamespaceAsync(string, string, string, CancellationToken)"/>)
    /// as namespace <paramref name="name"/>, without decrypting its data: this store's CMEK unwraps the
    /// transfer key, the manifest and every file are authenticated, each file's header is re-wrapped under
    /// a new KEK of the new namespace, and RocksDB ingests the files as one new column family. All or
    /// nothing: on failure, cancellation or a crash the store is left without the namespace and without
    /// any of the files (a crash is finished at the next open). The export directory is not changed.
    /// </summary>
    /// <param name="directory">The export directory.</param>
    /// <param name="name">Name of the new namespace (need not be the source's).</param>
    /// <param name="ct">Cancels the import.</param>
    /// <exception cref="NamespaceExistsException">The store already has a namespace of that name.</exception>
    /// <exception cref="KeyUnavailableException">This store's CMEK does not unwrap the export's transfer key
    /// (it was made for another CMEK), or the CMEK is unavailable, or the store is locked.</exception>
    /// <exception cref="IntegrityException">The manifest or a file was altered, or a file is missing.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    /// <exception cref="NotSupportedException">An in-memory store.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public Task<NamespaceImportResult> ImportNamespaceAsync(string directory, string name, CancellationToken ct = default) =>
        NamespaceImporter.ImportAsync(this, directory, name, ct);

    /// <summary>Makes a namespace an import just committed visible.</summary>
    internal void AttachImportedNamespace(NamespaceInfo info)
    {
        lock (_namespaceSync)
        {
            _namespaces[info.Name] = new StoreNamespace(this, info);
        }
    }
}
