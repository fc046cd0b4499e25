using System.CommandLine;
using System.Globalization;
using Engine.Cli.Output;

namespace Engine.Cli.Commands;

/// <summary><c>namespaces</c>, <c>flush</c>, <c>compact</c> and <c>verify</c>: whole-store operations.</summary>
internal static class AdminCommands
{
    public static Command Namespaces()
    {
        Option<bool> json = CliOptions.Json();
        return StoreVerb("namespaces", "List the store's namespaces, one per line", [json], readOnlyOption: true, (store, parse) =>
        {
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                foreach (string name in store.ListNamespaces())
                {
                    lines.Write(w => w.WriteString("name", name));
                }
                return ExitCodes.Ok;
            }
            foreach (string name in store.ListNamespaces())
            {
                Console.WriteLine(name);
            }
            return ExitCodes.Ok;
        }).WithHelpNote("""
            Output: one namespace name per line. --json: {"name":NS} per namespace.
            """);
    }

    public static Command Flush() => StoreVerb("flush", "Write every memtable to encrypted SST files", [], readOnlyOption: false, (store, _) =>
    {
        store.Flush();
        Console.WriteLine($"flushed {store.Path}");
        return ExitCodes.Ok;
    });

    public static Command Compact() => StoreVerb("compact", "Compact every namespace fully: merge its SSTs, drop deleted and overwritten entries", [], readOnlyOption: false, (store, _) =>
    {
        ProgressDisplay.Run("compact", _ =>
        {
            store.Compact();
            return 0;
        });
        Console.WriteLine($"compacted {store.Path}");
        return ExitCodes.Ok;
    }).WithHelpNote("""
        Flushes the memtables, then compacts every namespace's whole key range (RocksDB's manual
        compaction): space of deleted and overwritten entries is reclaimed. The SSTs it writes get
        DEKs of their own, but compaction is not DEK rotation: files RocksDB can move down
        without rewriting keep theirs. To rewrite every SST under fresh DEKs, use 'engine keys
        rotate-data' (it reports the share of bytes under fresh DEKs).
        Progress (elapsed time) goes to stderr: a bar on a terminal, otherwise a line a second.
        """);

    public static Command Verify()
    {
        Option<bool> json = CliOptions.Json();
        return StoreVerb("verify", "Authenticate every frame of every file of the store (exit 3 on failure)", [json], readOnlyOption: true, (store, parse) =>
        {
            VerifyReport report = ProgressDisplay.Run("verify", _ => store.Verify());
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                foreach (VerifiedFile file in report.Files)
                {
                    lines.Write(w =>
                    {
                        w.WriteString("file", Path.GetRelativePath(store.Path, file.Path));
                        w.WriteNumber("bytes", file.LogicalBytes);
                        w.WriteBoolean("tornTail", file.TornTail);
                    });
                }
                lines.Write(w =>
                {
                    w.WriteBoolean("summary", true);
                    w.WriteNumber("files", report.FileCount);
                    w.WriteNumber("bytes", report.LogicalBytes);
                    w.WriteBoolean("ok", true);
                });
                return ExitCodes.Ok;
            }
            foreach (VerifiedFile file in report.Files)
            {
                string relative = Path.GetRelativePath(store.Path, file.Path);
                string torn = file.TornTail ? "  (torn tail: file still being written)" : string.Empty;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok  {file.LogicalBytes,12}  {relative}{torn}"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified {report.FileCount} files, {report.LogicalBytes} bytes: every frame authenticated"));
            return ExitCodes.Ok;
        }).WithHelpNote("""
            Output: 'ok  BYTES  FILE' per file (plaintext bytes, path relative to the store), then a summary.
            --json: {"file":F,"bytes":N,"tornTail":B} per file, then {"summary":true,"files":N,"bytes":N,"ok":true}.
            On a failure nothing is printed on stdout: the error line on stderr names the file (exit 3).
            Progress (elapsed time) goes to stderr: a bar on a terminal, otherwise a line a second.
            """);
    }

    /// <summary>A verb that takes --store (and --cmek, and for read verbs --read-only) plus <paramref name="extra"/> and runs <paramref name="body"/> on the open store.</summary>
    private static Command StoreVerb(string name, string description, Option[] extra, bool readOnlyOption, Func<EncryptedStore, ParseResult, int> body)
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command(name, description) { store, cmek };
        foreach (Option option in extra)
        {
            command.Add(option);
        }
        if (readOnlyOption)
        {
            command.Options.Add(readOnly);
        }
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), CliOptions.ReadOnlyIf(parse, readOnly));
            return body(s, parse);
        });
        return command;
    }
}
