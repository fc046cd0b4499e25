using Engine.Moves;
using Engine.Tests.Cli;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Moves;

/// <summary><c>engine ns export|import</c> as a child process: the move, its help pages and its documented exit codes.</summary>
public sealed class NsCliTests
{
    private const int Usage = 2;
    private const int Integrity = 3;
    private const int KeyUnavailable = 4;

    [Fact]
    public void Ns_export_and_import_move_a_namespace_and_report_errors_with_their_exit_codes()
    {
        using var source = new TestStoreDirectory();
        using var target = new TestStoreDirectory();
        using (EncryptedStore s = source.Open())
        {
            NamespaceMoveTests.Fill(s, "orders", 50);
        }
        target.Open().Dispose();
        string export = Path.Combine(source.Root, "export");

        CliRun.Of("ns", "export", "--store", source.StorePath, "--ns", "nope", "--to", export, "--target-cmek", target.CmekUri).Expect(Usage);
        CliRun exported = CliRun.Of("ns", "export", "--store", source.StorePath, "--ns", "orders", "--to", export, "--target-cmek", target.CmekUri).Expect(0);
        Assert.Contains("exported namespace 'orders'", exported.Stdout, StringComparison.Ordinal);
        // A non-empty directory is refused: the export never mixes with other files.
        CliRun.Of("ns", "export", "--store", source.StorePath, "--ns", "orders", "--to", export, "--target-cmek", target.CmekUri).Expect(Usage);

        // The source store cannot import an export made for the target's CMEK.
        CliRun.Of("ns", "import", "--store", source.StorePath, "--from", export, "--ns", "copy").Expect(KeyUnavailable);
        CliRun.Of("ns", "import", "--store", target.StorePath, "--from", Path.Combine(source.Root, "missing"), "--ns", "orders").Expect(Usage);

        string manifest = Path.Combine(export, ExportManifest.FileName);
        byte[] good = File.ReadAllBytes(manifest);
        NamespaceMoveTests.FlipBit(manifest, good.Length - 20);
        CliRun tampered = CliRun.Of("ns", "import", "--store", target.StorePath, "--from", export, "--ns", "orders").Expect(Integrity);
        Assert.Contains("does not authenticate", tampered.Stderr, StringComparison.Ordinal);
        File.WriteAllBytes(manifest, good);

        CliRun imported = CliRun.Of("ns", "import", "--store", target.StorePath, "--from", export, "--ns", "orders").Expect(0);
        Assert.Contains("as 'orders'", imported.Stdout, StringComparison.Ordinal);
        CliRun again = CliRun.Of("ns", "import", "--store", target.StorePath, "--from", export, "--ns", "orders").Expect(Usage);
        Assert.Contains("already has a namespace 'orders'", again.Stderr, StringComparison.Ordinal);

        CliRun scan = CliRun.Of("scan", "--store", target.StorePath, "--ns", "orders").Expect(0);
        Assert.Contains("key-000001", scan.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("key-000000", scan.Stdout, StringComparison.Ordinal); // deleted in the source before the export
    }

    [Theory]
    [InlineData("export")]
    [InlineData("import")]
    public void Ns_verbs_have_help_with_exit_codes(string verb)
    {
        CliRun help = CliRun.Of("ns", verb, "--help").Expect(0);
        Assert.Contains("Exit codes:", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("3  ", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("4  ", help.Stdout, StringComparison.Ordinal);
    }
}
