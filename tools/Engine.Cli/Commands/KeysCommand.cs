using System.CommandLine;
using System.Globalization;
using Engine.Crypto;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine keys ...</c>: key lifecycle of a store. Rotation at every level (CMEK, root KEK,
/// namespace/system KEK, DEKs), status, crypto-shred of a namespace, destruction of the store.
/// See docs/key-rotation.md.
/// </summary>
internal static class KeysCommand
{
    public static Command Create() => new Command("keys", "Key lifecycle: status, rotation at every level, crypto-shred, destroy")
    {
        KeysStatusOutput.Command(),
        RotateCmek(),
        RotateRoot(),
        RotateNamespace(),
        KeysDataCommands.RotateData(),
        KeysDataCommands.Finish(),
        KeysDataCommands.DeleteNamespace(),
        KeysDataCommands.DestroyStore(),
    }.WithHelpNote("""
        Hierarchy: CMEK (outside the store) > root KEK (KEYRING, wrapped by the CMEK) > system and
        namespace KEKs (versioned, sealed in KEYRING) > one DEK per file (wrapped in the file header).
        Every rotation is online and crash-safe; see docs/key-rotation.md.
        """);

    private static Command RotateCmek()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var to = new Option<string>("--to")
        {
            Description = "The new CMEK URI (file:PATH, created if missing, or aws-kms:...); the same URI re-wraps under the key's newest material",
            Required = true,
            HelpName = "URI",
        };
        var command = new Command("rotate-cmek", "Re-wrap the root KEK under another CMEK (or key version); the store records the new URI")
        {
            store, cmek, to,
        }.WithHelpNote("""
            The new CMEK must wrap and unwrap before anything is written. Afterwards no file of the store
            needs the old CMEK: disabling or destroying it then also seals every older copy of the store.
            """);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            string? newKeyFile = CreateKeyFileIfMissing(parse.GetRequiredValue(to));
            Announce($"rotating the CMEK of {s.Path}");
            RotateCmekTo(s, parse.GetRequiredValue(to), newKeyFile);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command RotateRoot()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var command = new Command("rotate-root", "Replace the root KEK and re-seal every system and namespace KEK under it")
        {
            store, cmek,
        };
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            Announce($"rotating the root KEK of {s.Path}");
            s.Keys.RotateRootKey();
            Console.WriteLine($"new root KEK wrapped by {s.CmekUri}; every KEK re-sealed under it; the old root KEK is destroyed");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command RotateNamespace()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var ns = new Option<string?>("--ns") { Description = "Namespace whose KEK to rotate", HelpName = "NS" };
        var system = new Option<bool>("--system") { Description = "Rotate the system KEK (WAL, MANIFEST, OPTIONS, info LOG) instead" };
        var wait = new Option<bool>("--wait") { Description = "Wait until every header is re-wrapped and the old versions are retired" };
        var rate = new Option<double?>("--files-per-second")
        {
            Description = "Throttle of the header re-wrap (default 200; 0 = unthrottled)",
            HelpName = "N",
        };
        var command = new Command("rotate-ns", "New KEK version for a namespace (or --system); re-wrap existing file headers in the background")
        {
            store, cmek, ns, system, wait, rate,
        }.WithHelpNote("""
            New files use the new version at once. Existing files keep their data; only the DEK wrap in
            their header is rewritten. Without --wait the re-wrap continues while the store is open and
            resumes at the next open ('engine keys finish' waits for it).
            """);
        command.SetBody(parse =>
        {
            string? name = parse.GetValue(ns);
            bool isSystem = parse.GetValue(system);
            if ((name is null) == !isSystem)
            {
                throw new UsageException("give exactly one of --ns NS and --system");
            }
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            if (parse.GetValue(rate) is double perSecond)
            {
                s.Keys.RotationFilesPerSecond = perSecond;
            }
            if (name is not null)
            {
                StoreAccess.RequireNamespace(s, name);
            }
            Announce($"rotating the KEK of {(isSystem ? "the system scope" : $"namespace '{name}'")} of {s.Path}");
            KekRotation rotation = isSystem ? s.Keys.RotateSystemKey() : s.Keys.RotateNamespaceKey(name!);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rotation.Scope}: KEK version {rotation.NewVersion} in force for new files"));
            if (!parse.GetValue(wait))
            {
                Console.WriteLine("re-wrap of existing headers continues while the store is open and resumes at the next open ('engine keys finish' waits for it)");
                return ExitCodes.Ok;
            }
            KeysStatusOutput.WaitPrinting(s, rotation.Completion, rotation.Scope);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rotation.Scope}: every live file under version {rotation.NewVersion}; older versions retired"));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>As 'init' does: a <c>file:</c> URI naming no file gets a new key file (mode 0600).</summary>
    /// <returns>The path of the key file created, or null.</returns>
    internal static string? CreateKeyFileIfMissing(string uri)
    {
        string? keyPath = StoreAccess.LocalKeyPath(uri);
        if (keyPath is null || File.Exists(keyPath))
        {
            return null;
        }
        LocalKeyFileCmek.Create(keyPath).Dispose();
        return keyPath;
    }

    /// <summary>Rotates the CMEK and says so; deletes <paramref name="newKeyFile"/> (which protects nothing) on failure.</summary>
    internal static void RotateCmekTo(EncryptedStore store, string uri, string? newKeyFile)
    {
        string from = store.CmekUri;
        try
        {
            store.Keys.RotateCmek(uri);
        }
        catch when (newKeyFile is not null)
        {
            File.Delete(newKeyFile);
            throw;
        }
        Console.WriteLine($"root KEK re-wrapped: {from} -> {store.CmekUri}{(newKeyFile is null ? string.Empty : " (new key file, mode 0600)")}");
        Console.WriteLine($"no registry generation needs {from} any more: disabling or destroying it also seals older copies of the store");
    }

    /// <summary>First line of a rotation verb, flushed before the work starts (tests kill the process after it).</summary>
    internal static void Announce(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}
