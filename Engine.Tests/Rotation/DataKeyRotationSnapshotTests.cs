using System.Text;
using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Rotation;

/// <summary>
/// Compactions and data-key rotations while a snapshot is open keep every entry, also in a store whose
/// only data came from a bulk import. RocksDB 7.8.3 drops entries visible only at sequence 0 while a
/// snapshot at sequence 0 is live (facebook/rocksdb#13155); the in-memory model found it (seed
/// 9093595442876781625,8665467085014288147,8: BulkImport, CreateSnapshot, RotateDataKeys lost the entry).
/// The store's open raises the sequence above 0 (StoreSession.RaiseSequenceFloor).
/// </summary>
public sealed class DataKeyRotationSnapshotTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<bool, bool> Cases => new() { { true, true }, { true, false }, { false, true }, { false, false } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compaction_and_rotation_with_a_snapshot_open_keep_every_entry(bool inMemory, bool bulkImported)
    {
        using InMemoryStore? memory = inMemory ? InMemoryStore.Open() : null;
        using EncryptedStore? onDisk = inMemory ? null : _dir.Open();
        EncryptedStore store = memory?.Store ?? onDisk!;
        StoreNamespace ns = store.GetNamespace("n");
        byte[] key = Encoding.UTF8.GetBytes("key");
        byte[] value = new byte[511];
        Random.Shared.NextBytes(value);
        if (bulkImported)
        {
            ns.BulkImport([new KeyValuePair<byte[], byte[]>(key, value)]); // the store's first and only data
        }
        else
        {
            ns.Put(key, value);
            store.Flush();
        }

        using StoreSnapshot snapshot = store.CreateSnapshot();
        store.Compact();
        Assert.Equal(value, ns.Get(key));
        IReadOnlyList<DataKeyRotationProgress> done = store.Keys.RotateDataKeys("n");

        Assert.True(done.Single().Complete);
        Assert.Equal(value, ns.Get(key));
        Assert.Equal(value, ns.Get(key, snapshot));
    }

    [Fact]
    public void A_store_reopened_after_only_bulk_imports_keeps_them_through_a_snapshot_and_rotation()
    {
        byte[] key = Encoding.UTF8.GetBytes("key");
        byte[] value = Encoding.UTF8.GetBytes("imported");
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("n").BulkImport([new KeyValuePair<byte[], byte[]>(key, value)]);
        }
        using EncryptedStore reopened = _dir.Open();
        using StoreSnapshot snapshot = reopened.CreateSnapshot();
        reopened.Keys.RotateDataKeys("n");
        Assert.Equal(value, reopened.GetNamespace("n").Get(key));
        Assert.Equal(value, reopened.GetNamespace("n").Get(key, snapshot));
    }
}
