using System.Security.Cryptography;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>
/// Closes the store and opens it read-only (<see cref="EncryptedStore.OpenAsync"/> or
/// <see cref="EncryptedStore.Open"/>): it lists the model's namespaces and reads exactly the model's
/// entries (scans, point reads, a snapshot cursor walked backward, MultiGet, Verify); every write (put,
/// delete, batch, bulk import, namespace creation and deletion, flush, compaction, key rotations) throws
/// <see cref="StoreReadOnlyException"/>; and no file or directory of the store changed (names, sizes,
/// mtimes, SHA-256). Then the store opens read-write again. Directory stores only; needs the CMEK.
/// </summary>
internal sealed class ReadOnlyReopenOp(bool useAsync, string newNamespace) : StoreOp
{
    public override bool Pre(StoreModel model) =>
        model.State != ModelState.Closed && model.Cmek == TestCmekAvailability.Available && model.Setup.Backend == StoreBackend.Directory;

    protected override StoreModel Next(StoreModel model) => OpenOp.AfterOpen(model);

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        harness.Close();
        string root = harness.StorePath!;
        SortedDictionary<string, string> before = Fingerprint(root);
        StoreOptions options = harness.Options();
        options.ReadOnly = true;
        EncryptedStore store = useAsync ? EncryptedStore.OpenAsync(options).GetAwaiter().GetResult() : EncryptedStore.Open(options);
        try
        {
            ReadsAndRefusesWrites(store, expected);
        }
        finally
        {
            if (useAsync)
            {
                store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            else
            {
                store.Dispose();
            }
        }
        SortedDictionary<string, string> after = Fingerprint(root);
        string[] changed = [.. before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k))];
        ModelCheck.That(changed.Length == 0, $"{this}: the read-only session changed the store directory: {string.Join(", ", changed.Take(5))}");
        harness.Open();
    }

    private void ReadsAndRefusesWrites(EncryptedStore store, StoreModel expected)
    {
        ModelCheck.That(store.IsReadOnly, $"{this}: IsReadOnly is false");
        ModelCheck.That(store.State == StoreState.Open, $"{this}: the read-only store is {store.State}");
        string[] names = [.. expected.AllNamespaceNames];
        IReadOnlyList<string> listed = store.ListNamespaces();
        ModelCheck.That(names.SequenceEqual(listed), $"{this}: lists [{string.Join(", ", listed.Select(Show.Name))}], the model has [{string.Join(", ", names.Select(Show.Name))}]");
        foreach ((string name, var entries) in expected.Namespaces)
        {
            ModelCheck.NamespaceMatches(store, name, entries);
        }
        if (expected.Namespaces.FirstOrDefault(n => !n.Value.IsEmpty) is { Key: not null } some)
        {
            StoreNamespace ns = store.GetNamespace(some.Key);
            byte[][] keys = [.. some.Value.Keys.Take(8)];
            byte[]?[] values = ns.MultiGet(keys);
            for (int i = 0; i < keys.Length; i++)
            {
                ModelCheck.SameValue(values[i], some.Value[keys[i]], $"{this}: MultiGet({Show.Name(some.Key)}, {Show.Bytes(keys[i])})");
            }
            using StoreSnapshot snapshot = store.CreateSnapshot();
            using StoreCursor cursor = ns.OpenCursor(new CursorOptions { Snapshot = snapshot });
            var backward = new List<KeyValuePair<byte[], byte[]>>();
            for (bool ok = cursor.SeekToLast(); ok; ok = cursor.Prev())
            {
                backward.Add(KeyValuePair.Create(cursor.Key.ToArray(), cursor.Value.ToArray()));
            }
            ModelCheck.SameEntries(backward, some.Value.Reverse(), $"{this}: backward cursor walk of {Show.Name(some.Key)}");
            ModelCheck.Expect<StoreReadOnlyException>(() => ns.Put(keys[0], [1]), $"{this}: Put");
            ModelCheck.Expect<StoreReadOnlyException>(() => ns.Delete(keys[0]), $"{this}: Delete");
            ModelCheck.Expect<StoreReadOnlyException>(() => ns.BulkImport([KeyValuePair.Create(keys[0], new byte[] { 2 })]), $"{this}: BulkImport");
            var batch = new WriteBatchSpec([new BatchOperation(some.Key, keys[0], null)]);
            ModelCheck.Expect<StoreReadOnlyException>(() => batch.WriteTo(store, false), $"{this}: a write batch");
            ModelCheck.Expect<StoreReadOnlyException>(() => store.Keys.RotateNamespaceKey(some.Key), $"{this}: RotateNamespaceKey");
        }
        if (!expected.HasNamespace(newNamespace))
        {
            ModelCheck.Expect<StoreReadOnlyException>(() => store.GetNamespace(newNamespace), $"{this}: GetNamespace of a new namespace");
            ModelCheck.That(!store.TryGetNamespace(newNamespace, out _), $"{this}: TryGetNamespace finds {Show.Name(newNamespace)}");
        }
        if (names.Length > 0)
        {
            ModelCheck.Expect<StoreReadOnlyException>(() => store.DeleteNamespace(names[0]), $"{this}: DeleteNamespace");
        }
        ModelCheck.Expect<StoreReadOnlyException>(store.Flush, $"{this}: Flush");
        ModelCheck.Expect<StoreReadOnlyException>(store.Compact, $"{this}: Compact");
        ModelCheck.Expect<StoreReadOnlyException>(store.Keys.RotateRootKey, $"{this}: RotateRootKey");
        ModelCheck.Expect<StoreReadOnlyException>(() => store.Keys.RotateDataKeys(null), $"{this}: RotateDataKeys");
        store.Verify();
    }

    /// <summary>Path, size, mtime and SHA-256 of every file and directory under the store.</summary>
    private static SortedDictionary<string, string> Fingerprint(string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(root, entry);
            result[rel] = Directory.Exists(entry)
                ? $"dir {Directory.GetLastWriteTimeUtc(entry):O}"
                : $"{new FileInfo(entry).Length} {File.GetLastWriteTimeUtc(entry):O} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry)))}";
        }
        return result;
    }

    public override string Kind => useAsync ? "ReadOnlyReopenAsync" : "ReadOnlyReopen";

    public override string ToString() => useAsync ? "ReadOnlyReopen(OpenAsync)" : "ReadOnlyReopen";
}
