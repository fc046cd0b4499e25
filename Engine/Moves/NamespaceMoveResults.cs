namespace Engine;

/// <summary>What <see cref="EncryptedStore.ExportNamespaceAsync(string, string, string, CancellationToken)"/> wrote.</summary>
/// <param name="Namespace">The exported namespace.</param>
/// <param name="Directory">The export directory (absolute): SST files with re-wrapped headers and <c>MOVE-MANIFEST</c>.</param>
/// <param name="FileCount">SST files exported.</param>
/// <param name="Bytes">Bytes of the exported SST files (ciphertext as stored).</param>
/// <param name="Elapsed">Wall time of the export.</param>
public sealed record NamespaceExportResult(string Namespace, string Directory, int FileCount, long Bytes, TimeSpan Elapsed);

/// <summary>What <see cref="EncryptedStore.ImportNamespaceAsync"/> ingested.</summary>
/// <param name="Namespace">The namespace created in the target store.</param>
/// <param name="SourceStoreId">Id of the store the export came from (from the authenticated manifest).</param>
/// <param name="SourceNamespace">The namespace's name in the source store.</param>
/// <param name="FileCount">SST files ingested.</param>
/// <param name="Bytes">Bytes of the ingested SST files.</param>
/// <param name="Elapsed">Wall time of the import.</param>
public sealed record NamespaceImportResult(string Namespace, string SourceStoreId, string SourceNamespace, int FileCount, long Bytes, TimeSpan Elapsed);
