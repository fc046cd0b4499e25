using Engine.Crypto;
using Engine.Interop;
using RocksDbSharp;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>Opens RocksDB with one column family per namespace the registry knows.</summary>
    private void OpenDatabase()
    {
        var families = new ColumnFamilies(NewColumnFamilyOptions(null));
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (NamespaceInfo ns in _registry.Namespaces)
        {
            string cf = StoreLayout.ColumnFamilyName(ns.Id);
            families.Add(cf, NewColumnFamilyOptions(ns.Id));
            known.Add(cf);
        }

        // RocksDB insists on opening every column family it has. One the registry does not list
        // (left over by a crash in the middle of a namespace deletion) is opened and left alone.
        if (RocksDb.TryListColumnFamilies(_dbOptions, _layout.Root, out string[] existing))
        {
            foreach (string cf in existing)
            {
                if (cf != ColumnFamilies.DefaultName && known.Add(cf))
                {
                    uint? id = StoreLayout.TryParseColumnFamily(cf, out uint parsed) ? parsed : null;
                    families.Add(cf, NewColumnFamilyOptions(id));
                }
            }
        }

        try
        {
            _db = RocksDb.Open(_dbOptions, _layout.Root, families);
        }
        catch (RocksDbException ex)
        {
            throw NativeErrors.Translate(ex);
        }

        foreach (NamespaceInfo ns in _registry.Namespaces)
        {
            _namespaces[ns.Name] = new StoreNamespace(this, ns, _db.GetColumnFamily(StoreLayout.ColumnFamilyName(ns.Id)));
        }
    }

    /// <summary>Options of a namespace's column family: its own directory, the shared block cache.</summary>
    private ColumnFamilyOptions NewColumnFamilyOptions(uint? namespaceId)
    {
        var options = new ColumnFamilyOptions().SetBlockBasedTableFactory(_tableOptions);
        if (namespaceId is uint id)
        {
            string dir = _layout.NamespaceDirectory(id);
            Directory.CreateDirectory(dir);
            SetColumnFamilyPath(options, dir);
        }
        return options;
    }

    private static unsafe void SetColumnFamilyPath(ColumnFamilyOptions options, string dir)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        int status = NativeMethods.OptionsSetCfPath(options.Handle, dir, ulong.MaxValue, msg, NativeMethods.MessageCapacity);
        if (status != (int)NativeStatus.Ok)
        {
            throw NativeErrors.ToException((NativeStatus)status, NativeErrors.ReadMessage(msg), dir);
        }
    }

    private void CloseDatabase()
    {
        ScanCursor[] cursors;
        lock (_namespaceSync)
        {
            cursors = [.. _cursors];
            _cursors.Clear();
        }
        foreach (ScanCursor cursor in cursors)
        {
            cursor.Release();
        }
        _db?.Dispose();
        _db = null;
    }

    internal void Track(ScanCursor cursor)
    {
        lock (_namespaceSync)
        {
            _cursors.Add(cursor);
        }
    }

    internal void Untrack(ScanCursor cursor)
    {
        lock (_namespaceSync)
        {
            _cursors.Remove(cursor);
        }
    }
}
