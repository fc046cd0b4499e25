using System.Diagnostics;
using System.Globalization;
using Engine.Crypto;
using Engine.Files;

namespace Engine.Moves;

/// <summary>
/// Imports a namespace export into a store (docs/format.md, "Namespace export"): unwrap the transfer KEK
/// with this store's CMEK, authenticate the manifest, check every file, then, with the new namespace
/// registered as a pending crypto-shred, stage the files in its directory, re-wrap each header to its
/// new KEK and create its column family from them (RocksDB's CreateColumnFamilyWithImport). Only the
/// last registry write commits the namespace; a failure, a cancellation or a crash before it leaves no
/// namespace and no file (the shred runs now, or at the next open).
/// </summary>
internal static class NamespaceImporter
{
    private static readonly AsyncLocal<Action<string>?> s_faultPoint = new();

    /// <summary>
    /// For crash tests and the bench's breakdown: called at named points of an import: <c>verified</c>
    /// (manifest and files checked, store untouched), then inside the store's gate <c>copied</c>,
    /// <c>staged</c> (headers re-wrapped), <c>ingested</c> (column family created, not committed).
    /// </summary>
    /// <remarks>
    /// An <see cref="AsyncLocal{T}"/>: set by a test, it applies to the imports that test's flow starts only.
    /// </remarks>
    internal static Action<string>? FaultPoint
    {
        get => s_faultPoint.Value;
        set => s_faultPoint.Value = value;
    }

    public static async Task<NamespaceImportResult> ImportAsync(EncryptedStore store, string directory, string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        EncryptedStore.ValidateNamespaceName(name);
        MoveFiles.ThrowIfInMemory(store);
        store.ThrowIfReadOnly("Importing a namespace");
        ThrowIfExists(store, name);
        var clock = Stopwatch.StartNew();
        string dir = Path.GetFullPath(directory);
        string manifestPath = Path.Combine(dir, ExportManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new IntegrityException(
                $"{dir} holds no {ExportManifest.FileName}: not a complete namespace export (an export writes its manifest last)", manifestPath);
        }

        byte[] manifestBytes = await File.ReadAllBytesAsync(manifestPath, ct).ConfigureAwait(false);
        ExportManifest.Header header = ExportManifest.ReadHeader(manifestPath, manifestBytes);
        using TransferKey transfer = await UnwrapTransferKeyAsync(store, dir, header, ct).ConfigureAwait(false);
        ExportManifest manifest = ExportManifest.Open(manifestPath, manifestBytes, header, transfer);

        // Every file is checked before the store is touched; the copies are checked again below.
        foreach (ExportedSst f in manifest.Files)
        {
            ct.ThrowIfCancellationRequested();
            string path = Path.Combine(dir, f.Name);
            if (!File.Exists(path))
            {
                throw new IntegrityException($"{path}: a file the export manifest lists is missing", path);
            }
            (byte[] sha, long length) = MoveFiles.HashFile(path);
            if (length != f.PhysicalSize || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(sha, f.Sha256))
            {
                throw new IntegrityException($"{path}: the file does not match the export manifest (altered, cut or replaced)", path);
            }
        }

        FaultPoint?.Invoke("verified");
        ct.ThrowIfCancellationRequested();
        store.Run(session => Ingest(store, session, dir, name, manifest, transfer, ct));
        return new NamespaceImportResult(name, manifest.SourceStoreId, manifest.Namespace, manifest.Files.Count, manifest.Files.Sum(f => f.PhysicalSize), clock.Elapsed);
    }

    private static void ThrowIfExists(EncryptedStore store, string name)
    {
        if (store.TryGetNamespace(name, out _) || store.Run(s => s.Registry.TryGetNamespace(name, out _)))
        {
            throw new NamespaceExistsException(name, store.Path);
        }
    }

    private static async Task<TransferKey> UnwrapTransferKeyAsync(EncryptedStore store, string dir, ExportManifest.Header header, CancellationToken ct)
    {
        try
        {
            return await TransferKey.UnwrapAsync(store.CurrentCmek, header.ExportId, header.WrappedTransferKey, ct).ConfigureAwait(false);
        }
        catch (KeyUnavailableException e)
        {
            throw new KeyUnavailableException(
                $"The namespace export in {dir} was made for the CMEK {header.CmekUri}; this store's CMEK ({store.CmekUri}) cannot unwrap its transfer key: {e.Message}",
                e.FailureKind,
                e.CmekErrorCode,
                e);
        }
    }

    private static void Ingest(EncryptedStore store, StoreSession session, string dir, string name, ExportManifest manifest, TransferKey transfer, CancellationToken ct)
    {
        NamespaceInfo info;
        try
        {
            info = session.Registry.CreateNamespaceForImport(name);
        }
        catch (ArgumentException)
        {
            throw new NamespaceExistsException(name, store.Path);
        }

        bool committed = false;
        string nsDir = store.Layout.NamespaceDirectory(info.Id);
        var staged = new List<string>(manifest.Files.Count);
        try
        {
            StoreFiles.CreateOwnerOnlyDirectory(nsDir);
            var files = new List<LiveSst>(manifest.Files.Count);
            for (int i = 0; i < manifest.Files.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                ExportedSst f = manifest.Files[i];
                string stagedName = string.Create(CultureInfo.InvariantCulture, $"move-{i:D6}.sst");
                string path = nsDir + "/" + stagedName;
                staged.Add(path);
                MoveFiles.CopyFile(Path.Combine(dir, f.Name), path, f.Sha256);
                files.Add(new LiveSst(f.Level, f.LogicalSize, f.SmallestSeqno, f.LargestSeqno, nsDir, stagedName, f.SmallestKey, f.LargestKey));
            }
            FaultPoint?.Invoke("copied");
            var keys = new ImportHeaderKeys(session.FileKeys, transfer);
            foreach (string path in staged)
            {
                ct.ThrowIfCancellationRequested();
                MoveNative.Rewrap(session.Env, path, keys);
            }
            StoreFiles.SyncDirectoryOnDisk(nsDir);
            FaultPoint?.Invoke("staged");
            ct.ThrowIfCancellationRequested();

            if (files.Count > 0)
            {
                session.ImportColumnFamily(info.Id, LiveFileList.Encode(manifest.Comparator, files));
            }
            // else: an empty namespace (RocksDB refuses an import of no files); its column family is
            // created on first use, as for a namespace created empty.
            FaultPoint?.Invoke("ingested");
            session.Registry.ClearPendingShred(info.Id); // the commit point
            committed = true;
            store.AttachImportedNamespace(info);
            foreach (string path in staged)
            {
                StoreFiles.TryDeleteFileOnDisk(path); // RocksDB removes them after linking; best effort
            }
        }
        finally
        {
            if (!committed)
            {
                Abandon(session, store, info.Id);
            }
        }
    }

    /// <summary>Undoes an import that did not commit: the pending shred it was created with, finished now.</summary>
    private static void Abandon(StoreSession session, EncryptedStore store, uint id)
    {
        try
        {
            NamespaceShredder.Complete(session, store.Layout, id);
        }
        catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException or RocksDbSharp.RocksDbException)
        {
            // The registry still lists the namespace as a pending shred: the next open finishes it.
            store.AddOpenNote(string.Create(CultureInfo.InvariantCulture,
                $"an abandoned namespace import (namespace id {id}) could not be removed now ({e.Message}); the next open finishes its removal"));
        }
    }
}
