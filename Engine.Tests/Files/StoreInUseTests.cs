using Engine.Tests.Rotation;
using Engine.Tests.Support;

namespace Engine.Tests.Files;

/// <summary>
/// Lock before touching (issue 12, item 8): opening a store takes its exclusive lock before it deletes
/// or writes anything, so a second opener fails with <see cref="StoreInUseException"/> and leaves the
/// holder's temp files and bulk-import staging alone.
/// </summary>
public sealed class StoreInUseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public void A_second_open_in_this_process_fails_and_changes_nothing()
    {
        using var dir = new TestStoreDirectory();
        using EncryptedStore first = dir.Open();
        first.GetNamespace("n").Put("k", "v");
        (string spill, string staged) = PlantWorkInProgress(dir);
        Dictionary<string, byte[]> before = Snapshot(dir);

        var ex = Assert.Throws<StoreInUseException>(() => dir.Open());
        Assert.Equal(first.Path, ex.Path);
        Assert.Contains(first.Path, ex.Message, StringComparison.Ordinal);

        Assert.True(File.Exists(spill), "the holder's temp file was deleted");
        Assert.True(File.Exists(staged), "the holder's import staging was deleted");
        Dictionary<string, byte[]> after = Snapshot(dir);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, byte[] bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[path]), $"{path} changed");
        }

        // The holder is unharmed, and the store opens again once it is closed.
        Assert.Equal("v", first.GetNamespace("n").Get("k"));
        first.Dispose();
        using EncryptedStore again = dir.Open();
        Assert.Equal("v", again.GetNamespace("n").Get("k"));
    }

    [Fact]
    public void A_second_open_from_another_process_exits_with_the_store_in_use_code()
    {
        using var dir = new TestStoreDirectory();
        using EncryptedStore first = dir.Open();
        first.GetNamespace("n").Put("k", "v");
        (string spill, string staged) = PlantWorkInProgress(dir);

        using ChildProcess child = CliChild.Start("get", "--store", dir.StorePath, "--cmek", dir.CmekUri, "--ns", "n", "k");
        Assert.Equal(7, CliChild.WaitForExit(child, Patience)); // ExitCodes.StoreInUse
        Assert.Contains("store in use", child.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(spill), "the holder's temp file was deleted by the other process");
        Assert.True(File.Exists(staged), "the holder's import staging was deleted by the other process");
        Assert.Equal("v", first.GetNamespace("n").Get("k"));
    }

    /// <summary>What a running bulk import has on disk: a spill run under tmp/ and a staging directory.</summary>
    private static (string Spill, string Staged) PlantWorkInProgress(TestStoreDirectory dir)
    {
        string tmp = Path.Combine(dir.StorePath, "tmp");
        Directory.CreateDirectory(tmp);
        string spill = Path.Combine(tmp, "import-run-000001.run");
        File.WriteAllBytes(spill, [1, 2, 3]);
        string nsDir = Directory.GetDirectories(Path.Combine(dir.StorePath, "ns")).First();
        string stage = Path.Combine(nsDir, "import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(stage);
        string staged = Path.Combine(stage, "000001.sst");
        File.WriteAllBytes(staged, [4, 5, 6]);
        return (spill, staged);
    }

    private static Dictionary<string, byte[]> Snapshot(TestStoreDirectory dir) =>
        Directory.EnumerateFiles(dir.StorePath, "*", SearchOption.AllDirectories)
            // RocksDB's own files of the running holder may grow; what must not change is what the
            // second opener could delete or write: everything but the live info LOG and WAL.
            .Where(f => !Path.GetFileName(f).StartsWith("LOG", StringComparison.Ordinal) && !f.EndsWith(".log", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes, StringComparer.Ordinal);
}
