using System.CommandLine;
using System.Globalization;

namespace Engine.Cli.Commands;

/// <summary><c>namespaces</c>, <c>flush</c>, <c>compact</c> and <c>verify</c>: whole-store operations.</summary>
internal static class AdminCommands
{
    public static Command Namespaces() => StoreVerb("namespaces", "List the store's namespaces, one per line", readOnlyOption: true, store =>
    {
        foreach (string name in store.ListNamespaces())
        {
            Console.WriteLine(name);
        }
        return ExitCodes.Ok;
    });

    public static Command Flush() => StoreVerb("flush", "Write every memtable to encrypted SST files", readOnlyOption: false, store =>
    {
        store.Flush();
        Console.WriteLine($"flushed {store.Path}");
        return ExitCodes.Ok;
    });

    public static Command Compact() => StoreVerb("compact", "Compact every namespace fully (rewrites SSTs under fresh data keys)", readOnlyOption: false, store =>
    {
        store.Compact();
        Console.WriteLine($"compacted {store.Path}");
        return ExitCodes.Ok;
    });

    public static Command Verify() => StoreVerb("verify", "Authenticate every frame of every file of the store (exit 3 on failure)", readOnlyOption: true, store =>
    {
        VerifyReport report = store.Verify();
        foreach (VerifiedFile file in report.Files)
        {
            string relative = Path.GetRelativePath(store.Path, file.Path);
            string torn = file.TornTail ? "  (torn tail: file still being written)" : string.Empty;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok  {file.LogicalBytes,12}  {relative}{torn}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verified {report.FileCount} files, {report.LogicalBytes} bytes: every frame authenticated"));
        return ExitCodes.Ok;
    });

    /// <summary>A verb that takes only --store (and --cmek, and for read verbs --read-only) and runs <paramref name="body"/> on the open store.</summary>
    private static Command StoreVerb(string name, string description, bool readOnlyOption, Func<EncryptedStore, int> body)
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command(name, description) { store, cmek };
        if (readOnlyOption)
        {
            command.Options.Add(readOnly);
        }
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), CliOptions.ReadOnlyIf(parse, readOnly));
            return body(s);
        });
        return command;
    }
}
