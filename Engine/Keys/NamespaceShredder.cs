using System.Globalization;
using Engine.Crypto;
using Engine.Files;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// Deleting a namespace so that its data cannot be decrypted again (crypto-shred), in an order that a
/// crash at any point can only leave half done, never undone: the deletion is first recorded as
/// pending in the sealed key registry, and every open finishes the deletions the registry lists.
/// </summary>
/// <remarks>
/// Order: pending entry in the registry (durable, authenticated, holds only the id); drop the column
/// family (durable in the MANIFEST, so RocksDB never needs the namespace's files again); destroy the
/// KEK versions in both registry generations; flush the other column families so that WAL files
/// still holding the namespace's recent writes become obsolete; delete the directory; clear the
/// pending entry. Destroying the KEK before the column family is dropped would be wrong: a crash in
/// between would leave RocksDB needing files it cannot decrypt.
/// Marker files (<c>ns/&lt;id&gt;.shred</c>, written by earlier versions with the namespace's name in
/// plaintext) are never a reason to destroy a key: see <see cref="ReviewMarkerFiles"/>.
/// </remarks>
internal static class NamespaceShredder
{
    private const string MarkerSuffix = ".shred";

    /// <summary>Deletes the namespace (pending entry first, then <see cref="Complete"/>).</summary>
    /// <exception cref="IOException">A step failed; the pending entry makes the next open finish the deletion.</exception>
    public static void Shred(StoreSession session, StoreLayout layout, NamespaceInfo ns)
    {
        session.Registry.MarkPendingShred(ns.Id);
        Complete(session, layout, ns.Id);
    }

    /// <summary>Ids of namespaces whose deletion was started and not finished (crash, I/O error), from the authenticated registry.</summary>
    public static IReadOnlyList<uint> Pending(StoreSession session) => session.Registry.PendingShreds;

    /// <summary>
    /// Looks at marker files in <c>ns/</c> (unauthenticated: anyone who can write the directory can
    /// make one) and decides without trusting them. A marker for an id the registry no longer has
    /// (its KEK is already destroyed, under the registry's authentication) is an earlier version's
    /// interrupted deletion: finishing it destroys nothing decryptable, so its id is returned to be
    /// completed. A marker for a namespace the registry still holds is ignored and reported: the
    /// namespace stays (delete it again to finish), since an empty file must not delete data.
    /// </summary>
    /// <returns>Ids safe to finish, and one line per ignored marker (for the open report).</returns>
    public static (IReadOnlyList<uint> Finish, IReadOnlyList<string> Ignored) ReviewMarkerFiles(StoreSession session, StoreLayout layout)
    {
        string root = Path.Combine(layout.Root, StoreLayout.NamespacesDir);
        var finish = new List<uint>();
        var ignored = new List<string>();
        foreach (string file in StoreFiles.FilesOnDisk(root, MarkerSuffix))
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            bool isId = uint.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id > 0;
            if (isId && id < session.Registry.NextNamespaceId && !session.Registry.TryGetNamespace(id, out _))
            {
                finish.Add(id);
            }
            else
            {
                ignored.Add(string.Create(CultureInfo.InvariantCulture, $"ignored the unauthenticated marker file {file}: crypto-shreds are started only by the sealed key registry; no namespace was deleted"));
            }
        }

        return (finish, ignored);
    }

    /// <summary>Finishes a deletion the registry lists as pending (or a legacy one whose KEK is gone); every step may already have been done.</summary>
    public static void Complete(StoreSession session, StoreLayout layout, uint id)
    {
        session.DropNamespace(id);
        if (session.Registry.TryGetNamespace(id, out NamespaceInfo? info))
        {
            session.Registry.DeleteNamespace(info.Name);
        }
        else
        {
            // Gone from KEYRING already; a crash may have kept it in KEYRING.prev.
            session.Registry.Reseal();
        }

        FlushOthers(session);
        DeleteDirectory(session, layout.NamespaceDirectory(id));
        session.Registry.ClearPendingShred(id);
        string marker = MarkerPath(layout, id);
        StoreFiles.DeleteFilesOnDiskDurably(Path.GetDirectoryName(marker)!, marker, marker + ".tmp");
    }

    private static string MarkerPath(StoreLayout layout, uint id) => layout.NamespaceDirectory(id) + MarkerSuffix;

    /// <summary>
    /// Flushes every remaining column family: a WAL file is deleted once no column family needs it,
    /// and the deleted namespace's last writes may sit in one (sealed under the system KEK).
    /// </summary>
    private static void FlushOthers(StoreSession session)
    {
        FlushOptions flush = new FlushOptions().SetWaitForFlush(true);
        foreach (NamespaceInfo ns in session.Registry.Namespaces)
        {
            Native.Instance.rocksdb_flush_cf(session.Db.Handle, flush.Handle, session.HandleOf(ns).Handle);
        }

        session.Db.Flush(flush);
    }

    /// <summary>
    /// Deletes a namespace directory in the env's file system (the disk, or an in-memory store's),
    /// while RocksDB may be deleting the same files (a missing file is fine), then what is left on disk.
    /// </summary>
    private static void DeleteDirectory(StoreSession session, string dir)
    {
        using (StoreFiles files = StoreFiles.Open(session))
        {
            foreach (string name in files.List(dir))
            {
                files.Delete(dir + "/" + name);
            }

            files.DeleteDirectory(dir);
        }

        StoreFiles.DeleteTreeOnDisk(dir);
        StoreFiles.SyncDirectoryOnDisk(Path.GetDirectoryName(dir)!);
    }
}
