using System.Globalization;
using System.Text;
using Engine.Cli.Commands;
using Engine.Crypto;

namespace Engine.Cli.Demo;

/// <summary>
/// The end-to-end tour: write tagged records, prove none of them is readable in the files, prove
/// tampering is caught rather than returned, prove another key opens nothing and changes nothing.
/// Every claim is checked, and the exit code is 0 only if all of them held.
/// </summary>
internal static class DemoRunner
{
    private const int RecordsPerNamespace = 1000;

    public static int Run(string? dir, bool keep)
    {
        (string work, bool isTemp) = PrepareDirectory(dir);
        var paths = new DemoPaths(work);
        var data = new DemoDataset(RecordsPerNamespace);
        var report = new DemoReport();
        Console.WriteLine($"engine demo in {work}");

        Step(report, "create and fill a store", () => CreateAndFill(report, data, paths));
        Step(report, "reopen and verify", () => ReopenAndVerify(report, data, paths));
        Step(report, "search the files for plaintext", () => SearchForCanaries(report, data, paths));
        Step(report, "tamper with a copy", () => TamperWithCopy(report, data, paths));
        Step(report, "open with another key", () => OpenWithWrongKey(report, paths));
        Step(report, "reopen with the right key", () =>
        {
            using EncryptedStore store = StoreAccess.OpenExisting(paths.Store, null);
            ReadBack back = data.CheckAll(store);
            report.Check(back.Perfect, $"reopened with the right key: {back.Matched}/{back.Expected} records intact", back.Perfect ? null : back.ToString());
        });

        if (report.AllHeld)
        {
            Console.WriteLine($"✓ demo passed: all {report.Passed} checks held in {report.Seconds}");
            if (isTemp && !keep)
            {
                Directory.Delete(work, recursive: true);
            }
            else
            {
                Console.WriteLine($"  files kept in {work}");
            }
            return ExitCodes.Ok;
        }
        Console.WriteLine($"✗ demo FAILED: {report.Failed} of {report.Passed + report.Failed} checks did not hold ({report.Seconds}); files kept in {work}");
        return ExitCodes.DemoFailed;
    }

    private static void CreateAndFill(DemoReport report, DemoDataset data, DemoPaths paths)
    {
        Directory.CreateDirectory(paths.Keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using LocalKeyFileCmek cmek = LocalKeyFileCmek.Create(paths.Key);
        UnixFileMode mode = File.GetUnixFileMode(paths.Key);
        report.Check(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite),
            $"created key file {paths.Key} (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')})");

        using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = paths.Store, Cmek = cmek, CreateIfMissing = true });
        data.WriteTo(store);
        report.Check(true, $"wrote {data.Count} records to {string.Join(", ", DemoDataset.NamespaceNames)} (canary tag {data.Tag})");

        ReadBack back = data.CheckAll(store);
        report.Check(back.Perfect, $"read back {back.Matched}/{back.Expected} records, all equal to what was written", back.Perfect ? null : back.ToString());

        store.Flush();
        store.Compact();
        int ssts = Directory.EnumerateFiles(paths.Store, "*.sst", SearchOption.AllDirectories).Count();
        report.Check(ssts > 0, $"flushed and compacted: {ssts} SST files on disk");
    }

    private static void ReopenAndVerify(DemoReport report, DemoDataset data, DemoPaths paths)
    {
        // No CMEK given: the store must find its key from the URI it recorded.
        using EncryptedStore store = StoreAccess.OpenExisting(paths.Store, null);
        IReadOnlyList<string> names = store.ListNamespaces();
        bool sameNames = names.SequenceEqual(DemoDataset.NamespaceNames.Order(StringComparer.Ordinal));
        ReadBack back = data.CheckAll(store);
        report.Check(sameNames && back.Perfect,
            $"reopened (CMEK {store.CmekUri}): namespaces {string.Join(", ", names)}; {back.Matched}/{back.Expected} records intact",
            back.Perfect ? null : back.ToString());

        VerifyReport verified = store.Verify();
        report.Check(verified.FileCount > 0,
            Invariant($"verify: {verified.FileCount} files, {verified.LogicalBytes} bytes, every frame authenticated"));
    }

    private static void SearchForCanaries(DemoReport report, DemoDataset data, DemoPaths paths)
    {
        byte[] needle = Encoding.UTF8.GetBytes(data.Tag);

        // Positive control: the same search must find the tag in a plaintext file, or "not found" means nothing.
        Directory.CreateDirectory(paths.Control);
        File.WriteAllText(Path.Combine(paths.Control, "plaintext-export.txt"), $"{data.Tag}/tenant-a/record-00000\n");
        CanaryScan control = StoreFiles.FindCanary(paths.Control, needle);
        report.Check(control.Hits.Count == 1, $"control: the byte search finds {data.Tag} in a plaintext file");

        CanaryScan scan = StoreFiles.FindCanary(paths.Store, needle);
        report.Check(scan.Hits.Count == 0,
            Invariant($"no canary in the store: {scan.Files} files, {scan.Bytes} bytes searched, 0 hits"),
            scan.Hits.Count == 0 ? null : "PLAINTEXT FOUND in: " + string.Join(", ", scan.Hits));
    }

    private static void TamperWithCopy(DemoReport report, DemoDataset data, DemoPaths paths)
    {
        StoreFiles.Copy(paths.Store, paths.Tampered);
        (string File, long Offset, long Length)? flipped = StoreFiles.FlipByteInLargestSst(paths.Tampered);
        if (!report.Check(flipped is not null, "found an SST file in the copy to tamper with"))
        {
            return;
        }
        DemoReport.Note(Invariant($"flipped the byte at offset {flipped!.Value.Offset} of {flipped.Value.File} ({flipped.Value.Length} bytes) in a copy"));

        ReadBack? back = null;
        string? openError = null;
        string? verifyError = null;
        try
        {
            using EncryptedStore store = StoreAccess.OpenExisting(paths.Tampered, null);
            back = data.CheckAll(store);
            try
            {
                store.Verify();
            }
            catch (IntegrityException ex)
            {
                verifyError = ex.Message;
            }
        }
        catch (IntegrityException ex)
        {
            // RocksDB reading the table at open is an equally good place to catch it.
            openError = ex.Message;
        }

        report.Check(back is null || back.NoWrongData,
            back is null ? "tampered copy refused to open: no data returned" : $"no wrong data from the tampered copy ({back})");
        report.Check(openError is not null || back!.IntegrityErrors > 0,
            "reading the tampered copy raised IntegrityException", openError ?? back?.FirstIntegrityError);
        report.Check(openError is not null || verifyError is not null,
            "verify of the tampered copy raised IntegrityException", verifyError ?? openError);
    }

    private static void OpenWithWrongKey(DemoReport report, DemoPaths paths)
    {
        LocalKeyFileCmek.Create(paths.OtherKey).Dispose();
        SortedDictionary<string, string> before = StoreFiles.Fingerprint(paths.Store);
        try
        {
            using EncryptedStore opened = EncryptedStore.Open(new StoreOptions
            {
                Path = paths.Store,
                CmekUri = "file:" + paths.OtherKey,
                CreateIfMissing = false,
            });
            report.Check(false, "opening with a second key file was refused", "it opened: the store is readable without its key");
        }
        catch (KeyUnavailableException ex)
        {
            report.Check(true, "opening with a second key file fails with KeyUnavailableException", ex.Message);
        }
        catch (EngineException ex)
        {
            report.Check(false, "opening with a second key file fails with KeyUnavailableException", $"got {ex.GetType().Name}: {ex.Message}");
        }

        SortedDictionary<string, string> after = StoreFiles.Fingerprint(paths.Store);
        report.Check(before.SequenceEqual(after), $"store files byte-identical before and after (SHA-256 of {before.Count} files)",
            before.SequenceEqual(after) ? null : $"changed: {string.Join(", ", before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k)))}");
    }

    /// <summary>Runs one step; an unexpected exception fails the step with a one-line reason and the demo goes on.</summary>
    private static void Step(DemoReport report, string name, Action step)
    {
        try
        {
            step();
        }
        catch (Exception ex)
        {
            (_, string message) = ErrorReporter.Classify(ex);
            report.Check(false, $"{name}: {message}");
        }
    }

    private static (string Path, bool IsTemp) PrepareDirectory(string? dir)
    {
        if (dir is null)
        {
            return (Directory.CreateTempSubdirectory("engine-demo-").FullName, true);
        }
        string full = Path.GetFullPath(dir);
        if (File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any()))
        {
            throw new UsageException($"{full} is not an empty directory; demo needs a new or empty one");
        }
        Directory.CreateDirectory(full);
        return (full, false);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Where the demo puts things inside its working directory.</summary>
    private sealed record DemoPaths(string Root)
    {
        public string Store => Path.Combine(Root, "store");

        public string Keys => Path.Combine(Root, "keys");

        public string Key => Path.Combine(Keys, "cmek.key");

        public string OtherKey => Path.Combine(Keys, "other.key");

        public string Tampered => Path.Combine(Root, "tampered-copy");

        public string Control => Path.Combine(Root, "control");
    }
}
