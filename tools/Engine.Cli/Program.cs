using System.CommandLine;
using System.CommandLine.Invocation;
using Engine.Cli;
using Engine.Cli.Commands;
using Engine.Cmek.AwsKms;
using Engine.Cmek.Pkcs11;

// The tool accepts every CMEK scheme it ships a provider for (file: is built in).
AwsKmsCmek.Register();
Pkcs11Cmek.Register();

var root = new RootCommand("engine: command-line tool of the encrypted embedded key-value store")
{
    InitCommand.Create(),
    DataCommands.Put(),
    DataCommands.Get(),
    DataCommands.Delete(),
    DataCommands.Scan(),
    ImportCommand.Create(),
    AdminCommands.Namespaces(),
    AdminCommands.Flush(),
    AdminCommands.Compact(),
    AdminCommands.Verify(),
    LogCommand.Create(),
    DemoCommand.Create(),
    KmsCommand.Create(),
    WorkloadCommand.Create(),
    KeysCommand.Create(),
    HsmCommand.Create(),
    BackupCommand.Create(),
    NsCommand.Create(),
};
// Identity pinning for every verb that opens an existing store (README, "Running pinned").
var storeId = new Option<string?>("--store-id")
{
    Description = "Fail (exit 3) unless the store's id is this one (printed by init)",
    HelpName = "ID",
    Recursive = true,
};
root.Options.Add(storeId);
// Help would otherwise show the assembly name (Engine.Cli); users know the tool as tools/engine.
root.HelpName = "engine";
HelpNotes.Install(root);

ParseResult parse = root.Parse(args);
if (parse.Action is ParseErrorAction)
{
    // System.CommandLine would print every error plus the full help; one line and exit 2 is the contract.
    // An unknown verb also yields "Required command was not provided"; the token error says more.
    string first = parse.Errors.Select(e => e.Message).OrderBy(m => m.StartsWith("Required command", StringComparison.Ordinal)).FirstOrDefault()
        ?? "invalid command line";
    string verb = parse.CommandResult.Command is RootCommand ? string.Empty : UnknownOptions.VerbPath(parse) + " ";
    ErrorReporter.Fail($"{first} (see: engine {verb}--help)");
    return ExitCodes.Usage;
}
if (UnknownOptions.Find(parse) is string unknown)
{
    string verb = UnknownOptions.VerbPath(parse);
    ErrorReporter.Fail($"unknown option '{unknown}' for {verb} (a key or value starting with '-' goes after --, e.g. engine {verb} ... -- {unknown}) (see: engine {verb} --help)");
    return ExitCodes.Usage;
}
StoreAccess.ExpectedStoreId = parse.GetValue(storeId);
return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
