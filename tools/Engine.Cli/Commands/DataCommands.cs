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
        var value = new Argument<string?>("VALUE") { Description = "Value (UTF-8); or give --value-file", Arity = ArgumentArity.ZeroOrOne };
        var valueFile = new Option<string?>("--value-file")
        {
            Description = "Read the value's bytes from this file, or from standard input with -, instead of VALUE",
            HelpName = "PATH|-",
        };
        var command = new Command("put", "Store a value under a key (creates the namespace if needed)")
        {
            store, cmek, ns, key, value, valueFile,
        }.WithHelpNote("""
            The value is VALUE as UTF-8, or the exact bytes of --value-file (any bytes, no newline added or
            removed). A key or value starting with '-' goes after --:  engine put --store S --ns N -- -k -v
            """);
        command.SetBody(parse =>
        {
            string? text = parse.GetValue(value);
            string? file = parse.GetValue(valueFile);
            if ((text is null) == (file is null))
            {
                throw new UsageException("give the value either as VALUE or with --value-file PATH|- (exactly one)");
            }
            if (file is not null && file != "-" && !File.Exists(file))
            {
                throw new UsageException($"no value file at {Path.GetFullPath(file)}");
            }
            // Read before the store is opened: a slow stdin should not hold the store's lock.
            byte[] bytes = text is not null ? Encoding.UTF8.GetBytes(text) : ReadValue(file!);
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            // Writes are synced: the process exits right after, and a CLI user expects "done" to mean durable.
            s.GetNamespace(parse.GetRequiredValue(ns)).Put(Encoding.UTF8.GetBytes(parse.GetRequiredValue(key)), bytes, sync: true);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The bytes of <paramref name="file"/>, or of standard input for "-".</summary>
    private static byte[] ReadValue(string file)
    {
        if (file != "-")
        {
            return File.ReadAllBytes(file);
        }
        using Stream input = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        input.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static Command Get()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var key = new Argument<string>("KEY") { Description = "Key (UTF-8)" };
        Option<bool> json = CliOptions.Json();
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command("get", "Print the value of a key (exit 1 if absent)")
        {
            store, cmek, ns, key, json, readOnly,
        }.WithHelpNote("""
            Output: the value on one line, non-printable bytes escaped (\t \n \\ \xNN).
            --json: {"key":K,"value":V} where a key or value that is not valid UTF-8 is written as
            "key_b64"/"value_b64" (base64) instead; nothing is printed for an absent key (exit 1).
            """);
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
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                lines.Write(w =>
                {
                    JsonLines.WriteBytes(w, "key", Encoding.UTF8.GetBytes(k));
                    JsonLines.WriteBytes(w, "value", found);
                });
                return ExitCodes.Ok;
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
        Option<bool> json = CliOptions.Json();
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command("scan", "Print key<TAB>value lines in key order (non-printable bytes escaped)")
        {
            store, cmek, ns, prefix, limit, json, readOnly,
        }.WithHelpNote("""
            Output: KEY<TAB>VALUE per entry, non-printable bytes escaped (\t \n \\ \xNN).
            --json: {"key":K,"value":V} per entry, in key order; a key or value that is not valid UTF-8 is
            written as "key_b64"/"value_b64" (base64) instead. The lines import as they are:
            engine scan ... --json | engine import --store S2 --ns N --format jsonl -
            """);
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
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                foreach (KeyValuePair<byte[], byte[]> row in rows)
                {
                    lines.Write(w =>
                    {
                        JsonLines.WriteBytes(w, "key", row.Key);
                        JsonLines.WriteBytes(w, "value", row.Value);
                    });
                }
                return ExitCodes.Ok;
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
