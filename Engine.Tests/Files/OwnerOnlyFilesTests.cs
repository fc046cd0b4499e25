using System.Runtime.InteropServices;
using Engine.Tests.Support;

namespace Engine.Tests.Files;

/// <summary>
/// Owner-only files (issue 12, item 9): under the usual umask 022 every directory of a store is 0700
/// and every file 0600, after writes, flushes, compaction, a bulk import and a KEK rotation, so other
/// local users see neither names nor sizes nor write timing.
/// </summary>
public sealed partial class OwnerOnlyFilesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint Umask(uint mask);

    [Fact]
    public async Task Every_file_is_0600_and_every_directory_0700_under_umask_022()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // umask is process-wide; 022 is what the test host runs with anyway, so setting it cannot
        // change what tests running alongside create. Restored at the end.
        uint previous = Umask(0x12); // 022
        try
        {
            using var dir = new TestStoreDirectory();
            using (EncryptedStore store = dir.Open())
            {
                StoreNamespace ns = store.GetNamespace("alpha");
                for (int i = 0; i < 300; i++)
                {
                    ns.Put($"k{i:D4}", new string('x', 300), sync: i % 50 == 0);
                }
                store.Flush();
                for (int i = 0; i < 300; i += 2)
                {
                    ns.Put($"k{i:D4}", "y");
                }
                store.Flush();
                store.Compact();
                store.GetNamespace("beta").BulkImport(
                    Enumerable.Range(0, 2000).Select(i => new KeyValuePair<byte[], byte[]>(BitConverter.GetBytes(i), new byte[64])));
                store.Keys.RotateNamespaceKey("alpha");
                await store.Keys.WaitForRotationsAsync().WaitAsync(Patience);
                AssertOwnerOnly(dir.StorePath);
            }
            AssertOwnerOnly(dir.StorePath);
        }
        finally
        {
            _ = Umask(previous);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void AssertOwnerOnly(string root)
    {
        var wrong = new List<string>();
        foreach (string d in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Prepend(root))
        {
            UnixFileMode mode = File.GetUnixFileMode(d);
            if (mode != (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute))
            {
                wrong.Add($"directory {Path.GetRelativePath(root, d)}: {mode}");
            }
        }
        int files = 0;
        foreach (string f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            files++;
            UnixFileMode mode = File.GetUnixFileMode(f);
            if (mode != (UnixFileMode.UserRead | UnixFileMode.UserWrite))
            {
                wrong.Add($"file {Path.GetRelativePath(root, f)}: {mode}");
            }
        }
        Assert.True(files > 10, $"only {files} files under the store");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
