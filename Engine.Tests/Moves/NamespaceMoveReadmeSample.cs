using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Moves;

/// <summary>The README's namespace-move sample, compiled and run (Engine.Tests/Readme checks the README shows it verbatim).</summary>
public sealed class NamespaceMoveReadmeSample
{
    [Fact]
    public async Task The_readme_move_sample_moves_a_namespace_and_shreds_the_source()
    {
        using var a = new TestStoreDirectory();
        using var b = new TestStoreDirectory();
        using EncryptedStore source = a.Open();
        using EncryptedStore target = b.Open();
        source.GetNamespace("tenant-42").Put("k", "v");
        string exportDir = Path.Combine(a.Root, "export");
        string targetCmekUri = b.CmekUri;

        // README-SAMPLE-BEGIN
        // Source side: SSTs copied as stored, only each header's DEK re-wrapped for the target's CMEK.
        NamespaceExportResult exported = await source.ExportNamespaceAsync("tenant-42", exportDir, targetCmekUri);
        // Target side (ship exportDir over): authenticated, re-wrapped to a new KEK, ingested atomically.
        NamespaceImportResult imported = await target.ImportNamespaceAsync(exportDir, "tenant-42");
        // Finish the move: crypto-shred the source's copy.
        source.DeleteNamespace("tenant-42");
        // README-SAMPLE-END

        Assert.Equal(exported.FileCount, imported.FileCount);
        Assert.Equal("v", target.GetNamespace("tenant-42").Get("k"));
        Assert.Empty(source.ListNamespaces());
    }
}
