using System.CommandLine;
using Engine.Crypto;
using Engine.Files;

namespace Engine.Cli.Commands;

/// <summary><c>engine init</c>: creates a key file (if needed) and a new, empty store protected by it.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        Option<string> store = CliOptions.Store();
        var cmek = new Option<string>("--cmek")
        {
            Description = "CMEK URI; for file:PATH the key file is created (mode 0600) if it does not exist",
            Required = true,
            HelpName = "URI",
        };
        var command = new Command("init", "Create a new encrypted store") { store, cmek };
        command.SetBody(parse => Run(parse.GetRequiredValue(store), parse.GetRequiredValue(cmek)));
        return command;
    }

    private static int Run(string dir, string cmekUri)
    {
        string full = Path.GetFullPath(dir);
        // Refuse before touching the key file, so a failed init leaves nothing behind. Opening an
        // existing store here would succeed and wrongly report "created".
        if (EncryptedStore.Exists(full))
        {
            throw new UsageException($"{full} is already an encrypted store; init only creates new stores");
        }
        switch (StoreFiles.InspectRoot(full))
        {
            case StoreFiles.RootState.NotADirectory:
                throw new UsageException($"{full} is a file, not a store directory");
            case StoreFiles.RootState.NotEmpty:
                throw new UsageException($"{full} is not empty; init only creates stores, in a new or empty directory");
        }

        string? keyPath = StoreAccess.LocalKeyPath(cmekUri);
        bool newKey = keyPath is not null && !File.Exists(keyPath);
        if (newKey && !Directory.Exists(Path.GetDirectoryName(keyPath)))
        {
            throw new UsageException($"cannot create the key file {keyPath}: its directory does not exist");
        }

        ICmekProvider provider = newKey ? LocalKeyFileCmek.Create(keyPath!) : CmekProviders.Open(cmekUri);
        try
        {
            using (provider)
            using (EncryptedStore created = EncryptedStore.Open(new StoreOptions { Path = full, Cmek = provider, CreateIfMissing = true }))
            {
                Console.WriteLine($"created store {created.Path}");
                Console.WriteLine($"store id {created.StoreId} (pin it: StoreOptions.ExpectedStoreId, --store-id)");
                Console.WriteLine($"CMEK {created.CmekUri}{(newKey ? " (new key file, mode 0600)" : " (existing key)")}");
            }
        }
        catch when (newKey && StoreFiles.InspectRoot(full) is StoreFiles.RootState.Missing or StoreFiles.RootState.Empty)
        {
            // All or nothing: a failed create removes what it wrote (EncryptedStore.Open), and a key
            // that protects nothing is only confusing on the next attempt, so it goes too. Should the
            // store have kept anything, the key may be the only way into it, so it stays.
            File.Delete(keyPath!);
            throw;
        }
        return ExitCodes.Ok;
    }
}
