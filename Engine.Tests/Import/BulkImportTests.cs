using System.Diagnostics;
using System.Text;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Import;

/// <summary>Bulk import: sorted runs spilled to per-boot encrypted temp files, merged into SSTs, ingested atomically.</summary>
public sealed class BulkImportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The smallest budget: dozens of runs and (with 64 KiB read blocks) a fan-in of 2, so many merge passes.</summary>
    private static readonly BulkImportOptions s_tiny = new() { MemoryBudgetBytes = BulkImportOptions.MinMemoryBudgetBytes, SstTargetBytes = 256 << 10 };

    [Theory]
    [InlineData(200_000, 4 << 10, true)] // fan-in 5: a full pass, a partial one, then the final merge
    [InlineData(60_000, 64 << 10, false)] // fan-in 2: log2(runs) intermediate passes; blocks stored uncompressed
    public void Unsorted_input_with_duplicates_round_trips_through_many_spilled_runs(int count, int readBlock, bool compress)
    {
        (List<KeyValuePair<byte[], byte[]>> input, SortedDictionary<byte[], byte[]> model) = ImportTestSupport.RandomInput(count, count * 3 / 4, seed: readBlock);
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("bulk");
        // Existing keys: some are overwritten by the import (the memtable overlaps it), others stay.
        for (int i = 0; i < 500; i++)
        {
            byte[] key = Encoding.ASCII.GetBytes("k" + (i * 7));
            byte[] value = Encoding.ASCII.GetBytes("old" + i);
            ns.Put(key, value);
            model.TryAdd(key, value);
        }
        ns.Put("zz-untouched", "kept");
        model[Encoding.ASCII.GetBytes("zz-untouched")] = Encoding.ASCII.GetBytes("kept");

        var phases = new List<BulkImportPhase>();
        bool cleanAtCompletion = false;
        var progress = new SyncProgress<BulkImportProgress>(p =>
        {
            phases.Add(p.Phase);
            cleanAtCompletion = p.Phase == BulkImportPhase.Completed && _dir.TempFiles().Length == 0 && _dir.StagingDirectories().Length == 0;
        });
        var clock = Stopwatch.StartNew();
        BulkImportResult result = ns.BulkImport(input, s_tiny with { MinReadBlockBytes = readBlock, CompressSpills = compress }, progress);
        clock.Stop();
        output.WriteLine($"{result} in {clock.ElapsedMilliseconds} ms");

        Assert.Equal(count, result.EntriesRead);
        Assert.Equal(input.Select(e => e.Key).Distinct(new ByteArrayEquality()).Count(), result.KeysImported);
        Assert.True(result.RunsSpilled > count / 8000, $"expected many runs, got {result.RunsSpilled}");
        Assert.True(result.MergePasses >= 2, $"expected intermediate merge passes, got {result.MergePasses}");
        Assert.True(result.SstFiles > 1, "the target size should split the output into several SST files");
        Assert.Contains(BulkImportPhase.Spilling, phases);
        Assert.Contains(BulkImportPhase.Merging, phases);
        Assert.Equal([BulkImportPhase.WritingSsts, BulkImportPhase.Ingesting, BulkImportPhase.Completed], phases.Distinct().TakeLast(3));
        Assert.True(cleanAtCompletion, "temp files or the staging directory were still there when Completed was reported");
        ImportTestSupport.AssertMatches(model, ns);
        Assert.Empty(_dir.TempFiles());
        Assert.Empty(_dir.StagingDirectories());
        store.Verify();
    }

    [Fact]
    public void Input_that_fits_in_memory_never_touches_a_temp_file_and_survives_reopen()
    {
        (List<KeyValuePair<byte[], byte[]>> input, SortedDictionary<byte[], byte[]> model) = ImportTestSupport.RandomInput(20_000, 15_000, seed: 7);
        using (EncryptedStore store = _dir.Open())
        {
            bool sawTempFile = false;
            BulkImportResult result = store.GetNamespace("fits").BulkImport(input, progress: new SyncProgress<BulkImportProgress>(_ => sawTempFile |= _dir.TempFiles().Length > 0));
            Assert.Equal(0, result.RunsSpilled);
            Assert.Equal(0, result.MergePasses);
            Assert.Equal(1, result.SstFiles);
            Assert.False(sawTempFile);
            store.GetNamespace("other").Put("x", "y");
        }
        using (EncryptedStore store = _dir.Open())
        {
            ImportTestSupport.AssertMatches(model, store.GetNamespace("fits"));
            Assert.Equal("y", store.GetNamespace("other").Get("x"));
            Assert.Null(store.GetNamespace("other").Get("k1"));
        }
    }

    [Fact]
    public void Spilled_import_survives_reopen()
    {
        (List<KeyValuePair<byte[], byte[]>> input, SortedDictionary<byte[], byte[]> model) = ImportTestSupport.RandomInput(30_000, 20_000, seed: 11);
        using (EncryptedStore store = _dir.Open())
        {
            BulkImportResult result = store.GetNamespace("spilled").BulkImport(input, s_tiny with { MinReadBlockBytes = 4096 });
            Assert.True(result.RunsSpilled > 1);
        }
        using (EncryptedStore store = _dir.Open())
        {
            ImportTestSupport.AssertMatches(model, store.GetNamespace("spilled"));
            store.Verify();
        }
    }

    [Fact]
    public void Empty_input_imports_nothing()
    {
        using EncryptedStore store = _dir.Open();
        BulkImportResult result = store.GetNamespace("empty").BulkImport([]);
        Assert.Equal(new BulkImportResult(0, 0, 0, 0, 0, 0, 0, result.Elapsed), result);
        Assert.Empty(store.GetNamespace("empty").Scan());
    }

    [Fact]
    public void An_oversized_entry_fails_naming_its_index_and_imports_nothing()
    {
        using EncryptedStore store = _dir.Open(o => o.MaxValueBytes = 1000);
        StoreNamespace ns = store.GetNamespace("limits");
        IEnumerable<KeyValuePair<byte[], byte[]>> Input()
        {
            for (int i = 0; i < 5000; i++)
            {
                yield return new(Encoding.ASCII.GetBytes("key" + i), new byte[i == 4321 ? 1001 : 30]);
            }
        }
        var ex = Assert.Throws<ArgumentException>(() => ns.BulkImport(Input(), s_tiny));
        Assert.Contains("Entry 4321", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxValueBytes", ex.Message, StringComparison.Ordinal);
        Assert.Empty(ns.Scan());
        Assert.Empty(_dir.TempFiles());

        var nullKey = Assert.Throws<ArgumentException>(() => ns.BulkImport([new(Encoding.ASCII.GetBytes("a"), []), new(null!, [])]));
        Assert.Contains("Entry 1 has a null key", nullKey.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ns.BulkImport([], new BulkImportOptions { MemoryBudgetBytes = 1000 }));
    }

    [Fact]
    public void Entries_larger_than_the_budget_are_accepted()
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("big");
        byte[] big = new byte[200_000];
        new Random(3).NextBytes(big);
        var input = new List<KeyValuePair<byte[], byte[]>> { new("b"u8.ToArray(), big), new("a"u8.ToArray(), [1]), new("c"u8.ToArray(), big), new("b"u8.ToArray(), [2]) };
        BulkImportResult result = ns.BulkImport(input, s_tiny);
        Assert.Equal(3, result.KeysImported);
        Assert.Equal([2], ns.Get("b"u8));
        Assert.Equal(big, ns.Get("c"u8));
    }

    private sealed class ByteArrayEquality : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
