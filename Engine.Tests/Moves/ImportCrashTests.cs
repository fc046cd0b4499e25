using System.Text;
using Engine.Moves;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Moves;

/// <summary>
/// kill -9 of a process in the middle of a namespace import, at the points where the most is on disk:
/// files staged and re-wrapped in the new namespace's directory, and the column family already created
/// by RocksDB but the registry not yet committed. The reopened target has no namespace and no file of
/// the import, keeps its own data, and the same export imports afterwards.
/// </summary>
public sealed class ImportCrashTests
{
    [Theory]
    [InlineData("staged")]
    [InlineData("ingested")]
    public async Task A_kill_during_an_import_leaves_the_target_without_the_namespace_and_reopenable(string point)
    {
        using var source = new TestStoreDirectory();
        using var target = new TestStoreDirectory();
        SortedDictionary<string, string> expected;
        using (EncryptedStore s = source.Open())
        {
            expected = NamespaceMoveTests.Fill(s, "orders", 120);
        }
        string export = Path.Combine(source.Root, "export");
        uint importId;
        using (EncryptedStore s = source.Open())
        using (EncryptedStore t = target.Open())
        {
            await s.ExportNamespaceAsync("orders", export, target.CmekUri);
            t.GetNamespace("mine").Put("k", "v", sync: true);
            importId = t.Session.Registry.NextNamespaceId;
        }

        using (ChildProcess child = ChildProcess.StartInTests(typeof(ImportCrashChild), target.StorePath, target.CmekUri, export, point))
        {
            string? line = child.WaitForLine(l => l == "at " + point, TimeSpan.FromMinutes(3));
            Assert.True(line is not null, $"the importing child never reached '{point}': {child.Stderr}");
            Assert.True(Directory.Exists(Path.Combine(target.StorePath, "ns", importId.ToString(System.Globalization.CultureInfo.InvariantCulture))), "the import had staged nothing when killed");
            child.Kill();
        }

        using (EncryptedStore t = target.Open())
        {
            Assert.Equal(["mine"], t.ListNamespaces());
            Assert.Equal("v", t.GetNamespace("mine").Get("k"));
            Assert.Empty(t.Session.Registry.PendingShreds);
            Assert.False(Directory.Exists(t.Layout.NamespaceDirectory(importId)), "files of the killed import were left behind");

            await t.ImportNamespaceAsync(export, "orders");
            Assert.Equal(expected, NamespaceMoveTests.Contents(t, "orders"));
        }
    }
}

/// <summary>The child: imports and, at the named point, says so and waits to be killed.</summary>
internal static class ImportCrashChild
{
    public static int ChildMain(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("import crash child arguments: STORE CMEK_URI EXPORT_DIR POINT");
            return 2;
        }
        using Stream stdout = Console.OpenStandardOutput();
        NamespaceImporter.FaultPoint = at =>
        {
            if (at == args[3])
            {
                byte[] bytes = Encoding.ASCII.GetBytes("at " + at + "\n");
                stdout.Write(bytes, 0, bytes.Length);
                stdout.Flush();
                Thread.Sleep(Timeout.Infinite);
            }
        };
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = args[0], CmekUri = args[1], CreateIfMissing = false });
        store.ImportNamespaceAsync(args[2], "orders").GetAwaiter().GetResult();
        return 0;
    }
}
