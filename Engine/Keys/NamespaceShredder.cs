using System.Globalization;
using System.Text;
using Engine.Crypto;
using Engine.Files;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// Deleting a namespace so that its data cannot be decrypted again (crypto-shred), in an order that a
/// crash at any point can only leave half done, never undone: a marker <c>ns/&lt;id&gt;.shred</c> is
/// made durable first, and every open finishes the deletions it finds marked.
/// </summary>
/// <remarks>
/// Order: marker; drop the column family (durable in the MANIFEST, so RocksDB never needs the
/// namespace's files again); destroy the KEK versions in both registry generations; flush the
/// other column families so that WAL files still holding the namespace's recent writes become
/// obsolete; delete the directory; delete the marker. Destroying the KEK before the column family is
/// dropped would be wrong: a crash in between would leave RocksDB needing files it cannot decrypt.
/// </remarks>
internal static class NamespaceShredder
{
    private const string MarkerSuffix = ".shred";

    /// <summary>Deletes the namespace (marker first, then <see cref="Complete"/>).</summary>
    /// <exception cref="IOException">A step failed; the marker makes the next open finish the deletion.</exception>
    public static void Shred(StoreSession session, StoreLayout layout, NamespaceInfo ns)
    {
        string marker = MarkerPath(layout, ns.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        DurableIo.WriteAndSync(marker + ".tmp", Encoding.UTF8.GetBytes(ns.Name), FileMode.Create, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(marker + ".tmp", marker, overwrite: true);
        DurableIo.SyncDirectory(Path.GetDirectoryName(marker)!);
        Complete(session, layout, ns.Id);
    }

    /// <summary>Ids of namespaces whose deletion was started and not finished (crash, I/O error).</summary>
    public static IReadOnlyList<uint> Pending(StoreLayout layout)
    {
        string root = Path.Combine(layout.Root, StoreLayout.NamespacesDir);
        if (!Directory.Exists(root))
        {
            return [];
        }

        var ids = new List<uint>();
        foreach (string file in Directory.EnumerateFiles(root, "*" + MarkerSuffix))
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            if (uint.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id > 0)
            {
                ids.Add(id);
            }
        }

        return [.. ids.Order()];
    }

    /// <summary>Finishes a marked deletion; every step may already have been done.</summary>
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
        string marker = MarkerPath(layout, id);
        File.Delete(marker);
        File.Delete(marker + ".tmp");
        DurableIo.SyncDirectory(Path.GetDirectoryName(marker)!);
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

        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        string parent = Path.GetDirectoryName(dir)!;
        if (Directory.Exists(parent))
        {
            DurableIo.SyncDirectory(parent);
        }
    }
}
