using System.CommandLine;
using System.Globalization;
using Engine.Cli.Output;

namespace Engine.Cli.Commands;

/// <summary><c>keys rotate-data</c>, <c>keys finish</c>, <c>keys delete-ns</c> and <c>keys destroy-store</c>.</summary>
internal static class KeysDataCommands
{
    public static Command RotateData()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var ns = new Option<string?>("--ns") { Description = "Only this namespace (default: every namespace)", HelpName = "NS" };
        var rate = new Option<long>("--bytes-per-second")
        {
            Description = "Throttle: SST bytes rewritten per second (default 0 = one full compaction per namespace)",
            HelpName = "N",
        };
        var command = new Command("rotate-data", "DEK rotation: rewrite every SST by forced compaction so all data is under fresh DEKs")
        {
            store, cmek, ns, rate,
        }.WithHelpNote("""
            Progress is the share of a namespace's live SST bytes in files written since the rotation
            began (each file has its own DEK, created with the file). Done when no older file is live.
            MANIFEST, OPTIONS and info LOG files keep their DEKs until RocksDB rolls them.
            Output: the announcement, then one result line per namespace on stdout. Progress goes to
            stderr: a bar on a terminal, otherwise a line a second.
            """);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            string? name = parse.GetValue(ns);
            if (name is not null)
            {
                StoreAccess.RequireNamespace(s, name);
            }
            long perSecond = parse.GetValue(rate);
            if (perSecond < 0)
            {
                throw new UsageException("--bytes-per-second cannot be negative");
            }
            KeysCommand.Announce($"rotating the DEKs of {(name is null ? "every namespace" : $"namespace '{name}'")} of {s.Path}");
            IReadOnlyList<DataKeyRotationProgress> result = ProgressDisplay.Run("rotate-data", sink =>
                s.Keys.RotateDataKeys(name, new DataKeyRotationOptions { BytesPerSecond = perSecond, Progress = new SinkProgress(sink) }));
            foreach (DataKeyRotationProgress p in result)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{p.Namespace}: {p.Share * 100:F1}% of {p.OldBytes + p.NewBytes} live bytes under fresh DEKs ({p.NewFiles} new files, {p.OldFiles} old){(p.Complete ? string.Empty : "  INCOMPLETE")}"));
            }
            return result.All(p => p.Complete) ? ExitCodes.Ok : ExitCodes.IoError;
        });
        return command;
    }

    public static Command Finish()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var command = new Command("finish", "Wait for KEK rotations in progress (e.g. interrupted by a crash) to re-wrap and retire");
        command.Add(store);
        command.Add(cmek);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            KeysStatusOutput.WaitPrinting(s, s.Keys.WaitForRotationsAsync(), scope: null);
            Console.WriteLine("no KEK rotation in progress; every live file is under its scope's current version");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command DeleteNamespace()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var rotateTo = new Option<string?>("--rotate-cmek-to")
        {
            Description = "Then re-wrap the root KEK under this CMEK: destroying the old CMEK afterwards seals older copies of the store too",
            HelpName = "URI",
        };
        var command = new Command("delete-ns", "Delete a namespace and crypto-shred it (destroy every version of its KEK)")
        {
            store, cmek, ns, rotateTo,
        }.WithHelpNote("""
            Copies of the namespace's files become undecryptable. A copy of the whole store directory
            taken before (it includes the KEYRING that held the KEK) stays readable with the CMEK that
            wraps it, until that CMEK is rotated away (--rotate-cmek-to) and destroyed by its owner.
            """);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            string name = StoreAccess.RequireNamespace(s, parse.GetRequiredValue(ns)).Name;
            string? uri = parse.GetValue(rotateTo);
            string? newKeyFile = uri is null ? null : KeysCommand.CreateKeyFileIfMissing(uri);
            KeysCommand.Announce($"deleting namespace '{name}' of {s.Path}");
            s.DeleteNamespace(name);
            Console.WriteLine($"namespace '{name}' deleted: column family dropped, every KEK version destroyed (KEYRING and KEYRING.prev), files deleted");
            if (uri is not null)
            {
                KeysCommand.RotateCmekTo(s, uri, newKeyFile);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command DestroyStore()
    {
        Option<string> store = CliOptions.Store();
        var yes = new Option<bool>("--yes") { Description = "Confirm: the store's data becomes unreadable for good" };
        var keep = new Option<bool>("--keep-data") { Description = "Keep the (now undecryptable) data files; only the key registry is destroyed" };
        var force = new Option<bool>("--force") { Description = "Go ahead even when the CMEK is unavailable, so the store cannot be opened to check that no other process uses it" };
        var command = new Command("destroy-store", "Forget the root KEK (overwrite and delete every registry generation), then delete the store")
        {
            store, yes, keep, force,
        }.WithHelpNote("""
            The store is opened (and closed) first, to make sure no other process has it open: a process
            holding the registry in memory could write it again. The CMEK is not needed otherwise.
            Copies of KEYRING made earlier (backups) still open with the CMEK until it is destroyed.
            """);
        command.SetBody(parse =>
        {
            string dir = Path.GetFullPath(parse.GetRequiredValue(store));
            if (!parse.GetValue(yes))
            {
                throw new UsageException("destroy-store makes every byte of the store unreadable for good; add --yes to confirm");
            }
            if (!StoreAccess.IsStore(dir))
            {
                throw new UsageException($"{dir} is not an encrypted store (it has no KEYRING file)");
            }
            try
            {
                // Fails with StoreInUseException (exit code 7) while another process uses the store.
                StoreAccess.OpenExisting(dir, cmekUri: null).Dispose();
            }
            catch (KeyUnavailableException e) when (parse.GetValue(force))
            {
                Console.WriteLine($"warning: cannot open the store to check that it is not in use ({e.Message}); destroying anyway (--force)");
            }
            catch (KeyUnavailableException e)
            {
                throw new UsageException($"cannot open the store to check that no other process uses it ({e.Message}); add --force if you are sure");
            }
            EncryptedStore.Destroy(dir, parse.GetValue(keep));
            Console.WriteLine(parse.GetValue(keep)
                ? $"root KEK forgotten: {dir} keeps its data files, which no key can decrypt any more"
                : $"root KEK forgotten and {dir} deleted");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Hands each report to the display synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SinkProgress(ProgressSink sink) : IProgress<DataKeyRotationProgress>
    {
        public void Report(DataKeyRotationProgress value) =>
            sink.Report(string.Create(CultureInfo.InvariantCulture,
                $"{value.Namespace}: {value.NewBytes} of {value.OldBytes + value.NewBytes} bytes under fresh DEKs, {value.OldFiles} old files left"), value.Share);
    }
}
