using System.CommandLine;
using System.Globalization;
using Engine.Backup;
using Engine.Cli.Output;
using Engine.Crypto;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine backup create|list|verify|restore</c>: online, incremental backups that stay encrypted
/// (docs/backup.md).
/// </summary>
internal static class BackupCommand
{
    public static Command Create() => new Command("backup", "Backups that stay encrypted: create, list, verify, restore")
    {
        CreateVerb(),
        ListVerb(),
        VerifyVerb(),
        RestoreVerb(),
    }.WithHelpNote("""
        A backup directory holds many backups; an SST an earlier backup holds is not copied again.
        Files are copied as ciphertext; each backup has its own copy of the key registry (wrapped by
        the CMEK) and a sealed manifest. A deleted namespace stays readable in backups taken before
        the deletion: delete those backups to shred it there too. See docs/backup.md.
        """);

    private static Option<string> From() => new("--from")
    {
        Description = "Backup directory",
        Required = true,
        HelpName = "DIR",
    };

    private static Option<long?> Id() => new("--id")
    {
        Description = "Backup id (default: the newest)",
        HelpName = "N",
    };

    private static Option<string?> BackupCmek() => new("--cmek")
    {
        Description = "CMEK URI (default: the one recorded in the backup's registry copy), e.g. file:/path/to/key",
        HelpName = "URI",
    };

    private static Command CreateVerb()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var to = new Option<string>("--to")
        {
            Description = "Backup directory (created if missing; not inside the store)",
            Required = true,
            HelpName = "DIR",
        };
        Option<bool> json = CliOptions.Json();
        var command = new Command("create", "Take an online, consistent, incremental backup of a store")
        {
            store, cmek, to, json,
        }.WithHelpNote("""
            Output: 'backup N: F files, B bytes, C copied' (C: bytes this backup copied; the rest it
            shares with earlier backups). --json: {"id":N,"created":T,"storeId":S,"epoch":E,"files":F,"bytes":B,"newBytes":C}.
            Exit 7 also when another backup is writing into the same directory.
            """);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            using var signal = new TerminationSignal(); // Ctrl-C cancels: a cancelled backup leaves nothing listed
            BackupInfo info = s.Backups.CreateAsync(parse.GetRequiredValue(to), signal.Token).GetAwaiter().GetResult();
            Print(info, parse.GetValue(json), "backup");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command ListVerb()
    {
        Option<string> from = From();
        Option<bool> json = CliOptions.Json();
        var command = new Command("list", "List the backups of a backup directory (no key needed; nothing is authenticated)")
        {
            from, json,
        }.WithHelpNote("""
            Output: one line per backup, oldest first. --json: one object per backup as for 'create'.
            Use 'backup verify' to authenticate a backup.
            """);
        command.SetBody(parse =>
        {
            foreach (BackupInfo info in StoreBackups.List(parse.GetRequiredValue(from)))
            {
                Print(info, parse.GetValue(json), "backup");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command VerifyVerb()
    {
        Option<string> from = From();
        Option<long?> id = Id();
        Option<string?> cmek = BackupCmek();
        Option<bool> json = CliOptions.Json();
        var command = new Command("verify", "Authenticate every frame of every file of a backup without opening a database")
        {
            from, id, cmek, json,
        }.WithHelpNote("""
            Unwraps the backup's registry copy with the CMEK, authenticates its manifest, compares every
            file's size and SHA-256 and authenticates every frame. Exit 3 names the first bad file.
            Output: 'verified backup N: F files (A frame-authenticated), B bytes'.
            --json: {"id":N,"files":F,"authenticated":A,"bytes":B,"ok":true}.
            """);
        command.SetBody(parse =>
        {
            string dir = parse.GetRequiredValue(from);
            (long chosen, string uri) = Resolve(dir, parse.GetValue(id), parse.GetValue(cmek));
            using var signal = new TerminationSignal();
            BackupVerifyReport report = StoreBackups.VerifyAsync(dir, chosen, uri, signal.Token).GetAwaiter().GetResult();
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                lines.Write(w =>
                {
                    w.WriteNumber("id", report.Backup.Id);
                    w.WriteNumber("files", report.FilesChecked);
                    w.WriteNumber("authenticated", report.FilesAuthenticated);
                    w.WriteNumber("bytes", report.Bytes);
                    w.WriteBoolean("ok", true);
                });
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"verified backup {report.Backup.Id}: {report.FilesChecked} files ({report.FilesAuthenticated} frame-authenticated), {report.Bytes} bytes"));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command RestoreVerb()
    {
        Option<string> from = From();
        Option<long?> id = Id();
        Option<string?> cmek = BackupCmek();
        var to = new Option<string>("--to")
        {
            Description = "Store directory to restore into: must not exist or be empty",
            Required = true,
            HelpName = "DIR",
        };
        Option<bool> json = CliOptions.Json();
        var command = new Command("restore", "Verify a backup completely, then restore it into a new store directory")
        {
            from, id, to, cmek, json,
        }.WithHelpNote("""
            The restored store keeps the backed-up store's id, keys and epoch; open it with the same CMEK.
            A store pinned by a rollback anchor refuses an older epoch (exit 3): give the restored store
            a new anchor. Exit 2 when the target exists and is not empty (nothing is changed there);
            on any failure the target is left as it was.
            Output: 'restored backup N ...'. --json: as for 'create'.
            """);
        command.SetBody(parse =>
        {
            string dir = parse.GetRequiredValue(from);
            (long chosen, string uri) = Resolve(dir, parse.GetValue(id), parse.GetValue(cmek));
            using var signal = new TerminationSignal();
            BackupInfo info = StoreBackups.RestoreAsync(dir, chosen, parse.GetRequiredValue(to), uri, signal.Token).GetAwaiter().GetResult();
            Print(info, parse.GetValue(json), "restored backup");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The backup id (newest by default) and the CMEK URI (the registry copy's by default).</summary>
    private static (long Id, string CmekUri) Resolve(string dir, long? id, string? cmekUri)
    {
        IReadOnlyList<BackupInfo> all = StoreBackups.List(dir);
        if (all.Count == 0)
        {
            throw new UsageException($"{Path.GetFullPath(dir)} holds no backup");
        }
        long chosen = id ?? all[^1].Id;
        if (cmekUri is null)
        {
            string copy = Path.Combine(Path.GetFullPath(dir), string.Create(CultureInfo.InvariantCulture, $"backup-{chosen:D6}"));
            cmekUri = (KeyRegistry.Exists(copy) ? KeyRegistry.ReadCmekUri(copy) : null)
                ?? throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"backup {chosen} in {dir} records no CMEK URI; give one with --cmek"));
        }
        return (chosen, cmekUri);
    }

    private static void Print(BackupInfo info, bool json, string label)
    {
        if (json)
        {
            using var lines = new JsonLines();
            lines.Write(w =>
            {
                w.WriteNumber("id", info.Id);
                w.WriteString("created", info.CreatedUtc.ToString("O", CultureInfo.InvariantCulture));
                w.WriteString("storeId", info.StoreId);
                w.WriteNumber("epoch", info.Epoch);
                w.WriteNumber("files", info.FileCount);
                w.WriteNumber("bytes", info.TotalBytes);
                w.WriteNumber("newBytes", info.NewBytes);
            });
            return;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label} {info.Id}: {info.CreatedUtc:u}, store {info.StoreId}, epoch {info.Epoch}, {info.FileCount} files, {info.TotalBytes} bytes, {info.NewBytes} copied"));
    }
}
