using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

/// <summary>Unique canaries written through every path must never reach the disk in plaintext.</summary>
public sealed class NoPlaintextTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();
    private readonly string _tag = Guid.NewGuid().ToString("N");

    public void Dispose() => _dir.Dispose();

    private byte[] Canary(string kind, int i) => Encoding.ASCII.GetBytes($"CANARY-{kind}-{_tag}-{i:D5}");

    private void AssertNoCanaryOnDisk(string stage)
    {
        byte[] needle = Encoding.ASCII.GetBytes(_tag);
        var files = _dir.StoreFiles().ToList();
        Assert.NotEmpty(files);
        var leaking = files.Where(f => Bytes.FileContains(f, needle)).ToList();
        Assert.True(leaking.Count == 0, $"{stage}: canary found in plaintext in {string.Join(", ", leaking)}");
    }

    [Fact]
    public void Canaries_never_appear_in_wal_sst_compacted_sst_manifest_or_log()
    {
        using (EncryptedStore store = _dir.Open())
        {
            StoreNamespace[] namespaces = [store.GetNamespace("alpha"), store.GetNamespace("beta")];
            for (int i = 0; i < 3000; i++)
            {
                namespaces[i % 2].Put(Canary("KEY", i), Canary("VALUE", i), sync: i % 100 == 0);
            }

            // 1. Only in the WAL (and memtable).
            Assert.DoesNotContain(_dir.StoreFiles(), f => f.EndsWith(".sst", StringComparison.Ordinal));
            AssertNoCanaryOnDisk("WAL only");

            // 2. Flushed to SSTs.
            store.Flush();
            Assert.Contains(_dir.StoreFiles(), f => f.EndsWith(".sst", StringComparison.Ordinal));
            AssertNoCanaryOnDisk("after flush");

            // 3. Rewritten by compaction, with a second generation of values.
            for (int i = 0; i < 3000; i += 3)
            {
                namespaces[i % 2].Put(Canary("KEY", i), Canary("VALUE2", i));
            }
            store.Flush();
            store.Compact();
            AssertNoCanaryOnDisk("after compaction");
        }

        using (EncryptedStore store = _dir.Open())
        {
            Assert.Equal(Canary("VALUE2", 3), store.GetNamespace("beta").Get(Canary("KEY", 3)));
            Assert.Equal(Canary("VALUE", 1), store.GetNamespace("beta").Get(Canary("KEY", 1)));
        }
        AssertNoCanaryOnDisk("after reopen");
    }

    [Fact]
    public void Info_log_and_options_files_are_not_plaintext()
    {
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("n").Put("k", "v");
            store.Flush();
        }
        var files = _dir.StoreFiles().ToList();
        Assert.Contains(files, f => Path.GetFileName(f) == "LOG");
        Assert.Contains(files, f => Path.GetFileName(f).StartsWith("OPTIONS-", StringComparison.Ordinal));
        foreach (string marker in new[] { "RocksDB version", "[Version]", "DB SUMMARY", "rocksdb.", "ns-1" })
        {
            byte[] needle = Encoding.ASCII.GetBytes(marker);
            var leaking = files.Where(f => Bytes.FileContains(f, needle)).ToList();
            Assert.True(leaking.Count == 0, $"'{marker}' found in plaintext in {string.Join(", ", leaking)}");
        }
    }
}
