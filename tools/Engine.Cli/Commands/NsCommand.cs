using System.CommandLine;
using System.Globalization;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine ns export|import</c>: moves a namespace between stores with different keys without
/// decrypting its data (<see cref="EncryptedStore.ExportNamespaceAsync(string, string, string, CancellationToken)"/>,
/// <see cref="EncryptedStore.ImportNamespaceAsync"/>).
/// </summary>
internal static class NsCommand
{
    public static Command Create() => new Command("ns", "Namespace moves between stores: export a namespace, import an export")
    {
        Export(),
        Import(),
    }.WithHelpNote("""
        A move copies the namespace's SST files as stored (ciphertext) and re-wraps only the data key in
        each file's header: under a fresh transfer key for the export (wrapped by the target store's
        CMEK), under a new key of the new namespace at import. Nothing is decrypted on the way.
        To finish a move, delete the namespace in the source: engine keys delete-namespace ...
        """);

    private static Command Export()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var to = new Option<string>("--to") { Description = "New or empty directory for the export", Required = true, HelpName = "DIR" };
        var targetCmek = new Option<string>("--target-cmek")
        {
            Description = "CMEK URI of the store that will import the namespace (file:PATH, aws-kms:..., pkcs11:...)",
            Required = true,
            HelpName = "URI",
        };
        var command = new Command("export", "Export a namespace for another store: its SSTs with re-wrapped headers and a sealed manifest")
        {
            store, cmek, ns, to, targetCmek,
        }.WithHelpNote("""
            The namespace is flushed first; writes made after that are not in the export. The source keeps
            the namespace. Ctrl-C removes what the export wrote.
            Exit codes:
              0  exported
              2  bad usage: not a store, unknown namespace, the export directory is not empty
              3  a source file failed authentication
              4  the target CMEK cannot wrap the transfer key, the store's CMEK is unavailable, or the store is locked
              5  other errors, or stopped by a signal (nothing left behind)
              7  the store is in use by another process
            Errors are one line on stderr: engine: <message>
            """);
        command.SetBody(parse =>
        {
            string dir = Path.GetFullPath(parse.GetRequiredValue(to));
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            StoreNamespace space = StoreAccess.RequireNamespace(s, parse.GetRequiredValue(ns));
            using var signal = new TerminationSignal();
            NamespaceExportResult result;
            try
            {
                result = s.ExportNamespaceAsync(space.Name, dir, parse.GetRequiredValue(targetCmek), signal.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (signal.Received is not null)
            {
                ErrorReporter.Fail($"export stopped by {signal.Received}: nothing was left in {dir}");
                return ExitCodes.IoError;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"exported namespace '{result.Namespace}' to {result.Directory}: {result.FileCount} SST files ({result.Bytes / 1e6:0.0} MB) in {result.Elapsed.TotalSeconds:0.00} s"));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Import()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        ns.Description = "Name of the new namespace (need not be the source's name)";
        var from = new Option<string>("--from") { Description = "Export directory (from engine ns export)", Required = true, HelpName = "DIR" };
        var command = new Command("import", "Import a namespace export as a new namespace, all or nothing")
        {
            store, cmek, from, ns,
        }.WithHelpNote("""
            The store's CMEK must be the one the export was made for (--target-cmek of the export). Every
            file is authenticated before anything is ingested; on any failure, Ctrl-C or a crash the store
            is left without the namespace and without its files. The export directory is not changed.
            Exit codes:
              0  imported
              2  bad usage: not a store, no export directory, or the namespace already exists
              3  the export failed authentication: manifest or a file altered, or a file missing
              4  the store's CMEK does not unwrap the export's transfer key (made for another CMEK), the
                 CMEK is unavailable, or the store is locked
              5  other errors, or stopped by a signal (nothing imported)
              7  the store is in use by another process
            Errors are one line on stderr: engine: <message>
            """);
        command.SetBody(parse =>
        {
            string dir = Path.GetFullPath(parse.GetRequiredValue(from));
            if (!Directory.Exists(dir))
            {
                throw new UsageException($"no export directory at {dir}");
            }
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            using var signal = new TerminationSignal();
            NamespaceImportResult result;
            try
            {
                result = s.ImportNamespaceAsync(dir, parse.GetRequiredValue(ns), signal.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (signal.Received is not null)
            {
                ErrorReporter.Fail($"import stopped by {signal.Received}: nothing was imported");
                return ExitCodes.IoError;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"imported namespace '{result.SourceNamespace}' of store {result.SourceStoreId} as '{result.Namespace}': {result.FileCount} SST files ({result.Bytes / 1e6:0.0} MB) in {result.Elapsed.TotalSeconds:0.00} s"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
