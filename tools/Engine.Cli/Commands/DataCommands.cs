using System.CommandLine;
using System.Text;
using Engine.Cli.Output;

namespace Engine.Cli.Commands;

/// <summary><c>put</c>, <c>get</c>, <c>delete</c> and <c>scan</c>: one namespace's keys and values, as UTF-8 text.</summary>
internal static class DataCommands
{
    public static Command Put()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var key = new Argument<string>("KEY") { Description = "Key (UTF-8)" };
        var value = new Argument<string>("VALUE") { Description = "Value (UTF-8)" };
        var command = new Command("put", "Store a value under a key (creates the namespace if needed)") { store, cmek, ns, key, value };
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            // Writes are synced: the process exits right after, and a CLI user expects "done" to mean durable.
            s.GetNamespace(parse.GetRequiredValue(ns)).Put(parse.GetRequiredValue(key), parse.GetRequiredValue(value), sync: true);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Get()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var key = new Argument<string>("KEY") { Description = "Key (UTF-8)" };
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command("get", "Print the value of a key (exit 1 if absent)") { store, cmek, ns, key, readOnly };
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), CliOptions.ReadOnlyIf(parse, readOnly));
            StoreNamespace space = StoreAccess.RequireNamespace(s, parse.GetRequiredValue(ns));
            string k = parse.GetRequiredValue(key);
            byte[]? found = space.Get(Encoding.UTF8.GetBytes(k));
            if (found is null)
            {
                ErrorReporter.Fail($"key '{k}' not found in namespace '{space.Name}'");
                return ExitCodes.NotFound;
            }
            Console.WriteLine(ByteText.Escape(found));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Delete()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var key = new Argument<string>("KEY") { Description = "Key (UTF-8)" };
        var command = new Command("delete", "Remove a key (no error if it is absent)") { store, cmek, ns, key };
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            StoreAccess.RequireNamespace(s, parse.GetRequiredValue(ns)).Delete(parse.GetRequiredValue(key), sync: true);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Scan()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var prefix = new Option<string?>("--prefix") { Description = "Only keys starting with this (UTF-8)", HelpName = "P" };
        var limit = new Option<int>("--limit") { Description = "Print at most N entries", HelpName = "N" };
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command("scan", "Print key<TAB>value lines in key order (non-printable bytes escaped)") { store, cmek, ns, prefix, limit, readOnly };
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), CliOptions.ReadOnlyIf(parse, readOnly));
            StoreNamespace space = StoreAccess.RequireNamespace(s, parse.GetRequiredValue(ns));
            string? p = parse.GetValue(prefix);
            IEnumerable<KeyValuePair<byte[], byte[]>> rows = p is null ? space.Scan() : space.ScanPrefix(Encoding.UTF8.GetBytes(p));
            if (parse.GetResult(limit) is not null)
            {
                int n = parse.GetValue(limit);
                rows = n >= 1 ? rows.Take(n) : throw new UsageException($"--limit must be at least 1 (got {n})");
            }
            // Console.Out flushes on every write; a buffered writer keeps large scans fast.
            using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
            foreach (KeyValuePair<byte[], byte[]> row in rows)
            {
                output.Write(ByteText.Escape(row.Key));
                output.Write('\t');
                output.WriteLine(ByteText.Escape(row.Value));
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
