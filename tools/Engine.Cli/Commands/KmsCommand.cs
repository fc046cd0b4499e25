using System.CommandLine;
using System.Globalization;
using Engine.Cli.Output;
using Engine.KmsLocal;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine kms ...</c>: the local AWS-KMS-compatible endpoint (tools/Engine.KmsLocal) for
/// rehearsing a key revocation. <c>serve</c> runs it; the other verbs edit <c>DIR/keys.json</c>
/// directly, so they work with or without a server running (a server sees the change on its next request).
/// </summary>
internal static class KmsCommand
{
    /// <summary>On every key verb's help page, so that scripts know what a failure means without reading code.</summary>
    private const string ExitCodeHelp = """
        Exit codes:
          0  done
          1  no such key or alias (NotFoundException; also a key already destroyed)
          2  bad usage, a missing data directory, or a change the key's state or AWS's rules do not
             allow (KMSInvalidStateException, ValidationException, InvalidAliasNameException,
             AlreadyExistsException)
          5  I/O error
        Errors are one line on stderr: engine: <AWS error code>: <message>
        """;

    public static Command Create() => new Command("kms", "Local AWS-KMS-compatible endpoint for rehearsing key revocation (not for production)")
    {
        KmsServe.Create(),
        CreateKey(),
        KeyVerb("disable-key", "Disable a key: stores protected by it lock at their next CMEK check (DisabledException)",
            (data, id) => Describe(LocalKmsTool.DisableKey(data, id), "stores protected by it lock at their next CMEK check")),
        KeyVerb("enable-key", "Enable a disabled key: locked stores protected by it unlock at their next CMEK check",
            (data, id) => Describe(LocalKmsTool.EnableKey(data, id), "locked stores protected by it unlock at their next CMEK check")),
        ScheduleDeletion(),
        KeyVerb("cancel-deletion", "Cancel a pending deletion; the key becomes Disabled, as in AWS (enable it to use it again)",
            (data, id) => Describe(LocalKmsTool.CancelDeletion(data, id), "deletion cancelled; enable-key makes it usable again")),
        ListKeys(),
        CreateAlias(),
        ListAliases(),
        DeleteAlias(),
    }.WithHelpNote("""
        The local KMS speaks the AWS KMS JSON protocol on 127.0.0.1; its key material sits in DIR/keys.json.
        The key verbs edit that file directly: they work with or without 'kms serve' running, and a running
        server sees the change on its next request. See docs/aws-kms.md.
        """);

    /// <summary>The <c>--data DIR</c> option every kms verb takes.</summary>
    internal static Option<string> DataOption() => new("--data")
    {
        Description = "Local KMS data directory (holds keys.json)",
        Required = true,
        HelpName = "DIR",
    };

    private static Command CreateKey()
    {
        Option<string> data = DataOption();
        var description = new Option<string?>("--description") { Description = "Free text shown by DescribeKey and list-keys", HelpName = "TEXT" };
        var port = new Option<int?>("--port")
        {
            Description = "Port of 'kms serve', to print a complete CMEK URI (default: the port the last 'kms serve' on DIR announced)",
            HelpName = "P",
        };
        var command = new Command("create-key", "Create an enabled key; print its id, ARN and the CMEK URI for 'engine init'")
        {
            data, description, port,
        }.WithHelpNote("Output: 'key-id: ID', 'arn: ARN', 'cmek-uri: URI' lines, then how to supply credentials.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            string dir = Path.GetFullPath(parse.GetRequiredValue(data));
            int? p = parse.GetValue(port);
            if (p is < 1 or > 65535)
            {
                throw new UsageException($"--port must be from 1 to 65535 (got {p})");
            }
            LocalKmsKey key = LocalKmsTool.CreateKey(dir, parse.GetValue(description));
            string? endpoint = p is int given ? KmsServe.EndpointFor(given) : KmsServe.ReadAnnouncedEndpoint(dir);
            string region = key.Arn.Split(':')[3];
            Console.WriteLine($"key-id: {key.KeyId}");
            Console.WriteLine($"arn: {key.Arn}");
            Console.WriteLine($"cmek-uri: aws-kms:{key.Arn}?endpoint={endpoint ?? "http://127.0.0.1:PORT"}&region={region}");
            if (endpoint is null)
            {
                Console.WriteLine("note: PORT is the port of 'engine kms serve --data DIR' (no server has announced one in this directory; pass --port P)");
            }
            // Credentials come from the AWS chain, never from the URI (docs/aws-kms.md); the local KMS checks their shape only.
            Console.WriteLine("credentials: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true (any values)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ScheduleDeletion()
    {
        var days = new Option<int>("--days")
        {
            Description = "Waiting period: 7 to 30 days as in AWS, or 0 (local only) to destroy the key now; 30 is AWS's default",
            HelpName = "N",
            DefaultValueFactory = _ => 30,
        };
        Command command = KeyVerb("schedule-deletion",
            "Schedule a key's deletion: stores protected by it lock at their next CMEK check (KMSInvalidStateException); once destroyed, NotFoundException",
            (data, id, parse) =>
            {
                int n = parse.GetValue(days);
                LocalKmsKey key = LocalKmsTool.ScheduleDeletion(data, id, n);
                return n == 0
                    ? $"{key.KeyId}: destroyed (its material is gone: stores protected by it can never be opened again)"
                    : Describe(key, "stores protected by it lock at their next CMEK check; cancel-deletion before that date keeps the key");
            });
        command.Options.Add(days);
        return command;
    }

    private static Command ListKeys()
    {
        Option<string> data = DataOption();
        Option<bool> json = CliOptions.Json();
        var command = new Command("list-keys", "List the keys not yet destroyed, one per line")
        {
            data, json,
        }.WithHelpNote("Output: KEY_ID<TAB>STATE<TAB>ARN<TAB>DELETION_DATE (or -)<TAB>DESCRIPTION per key; nothing when there is none.\n"
            + "--json: {\"keyId\":ID,\"state\":S,\"arn\":ARN,\"deletionDate\":ISO-8601 or null,\"description\":TEXT} per key.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            IReadOnlyList<LocalKmsKey> keys = [.. LocalKmsTool.ListKeys(RequireDataDirectory(parse.GetRequiredValue(data)))];
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                foreach (LocalKmsKey key in keys)
                {
                    lines.Write(w =>
                    {
                        w.WriteString("keyId", key.KeyId);
                        w.WriteString("state", key.State.ToString());
                        w.WriteString("arn", key.Arn);
                        if (key.DeletionDate is DateTimeOffset date)
                        {
                            w.WriteString("deletionDate", date.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            w.WriteNull("deletionDate");
                        }
                        w.WriteString("description", key.Description);
                    });
                }
                return ExitCodes.Ok;
            }
            foreach (LocalKmsKey key in keys)
            {
                string deletion = key.DeletionDate is DateTimeOffset at ? at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine($"{key.KeyId}\t{key.State}\t{key.Arn}\t{deletion}\t{key.Description.ReplaceLineEndings(" ")}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Option<string> AliasNameOption() => new("--alias-name")
    {
        Description = "The alias: alias/NAME (letters, digits, '/', '_', '-'; not under alias/aws/, which AWS reserves)",
        Required = true,
        HelpName = "alias/NAME",
    };

    private static Command CreateAlias()
    {
        Option<string> data = DataOption();
        Option<string> alias = AliasNameOption();
        var key = new Option<string>("--key-id") { Description = "Key id or key ARN the alias names", Required = true, HelpName = "K" };
        var command = new Command("create-alias", "Give a key an alias (as AWS CreateAlias): alias/NAME then names the key wherever a key id is accepted")
        {
            data, alias, key,
        }.WithHelpNote("Output: 'alias: NAME', 'alias-arn: ARN', 'key-id: ID', 'cmek-uri: URI' lines.\n"
            + "AlreadyExistsException (exit 2) if the alias exists: delete-alias first, or point it elsewhere with the AWS CLI's update-alias.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            string dir = RequireDataDirectory(parse.GetRequiredValue(data));
            LocalKmsAlias created = LocalKmsTool.CreateAlias(dir, parse.GetRequiredValue(alias), parse.GetRequiredValue(key));
            string region = created.Arn.Split(':')[3];
            Console.WriteLine($"alias: {created.Name}");
            Console.WriteLine($"alias-arn: {created.Arn}");
            Console.WriteLine($"key-id: {created.TargetKeyId}");
            Console.WriteLine($"cmek-uri: aws-kms:{created.Name}?endpoint={KmsServe.ReadAnnouncedEndpoint(dir) ?? "http://127.0.0.1:PORT"}&region={region}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListAliases()
    {
        Option<string> data = DataOption();
        Option<bool> json = CliOptions.Json();
        var command = new Command("list-aliases", "List the aliases of keys not yet destroyed, one per line, by name")
        {
            data, json,
        }.WithHelpNote("Output: ALIAS<TAB>KEY_ID<TAB>ALIAS_ARN per alias; nothing when there is none.\n"
            + "--json: {\"alias\":NAME,\"keyId\":ID,\"aliasArn\":ARN} per alias.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            IReadOnlyList<LocalKmsAlias> aliases = [.. LocalKmsTool.ListAliases(RequireDataDirectory(parse.GetRequiredValue(data)))];
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines();
                foreach (LocalKmsAlias alias in aliases)
                {
                    lines.Write(w =>
                    {
                        w.WriteString("alias", alias.Name);
                        w.WriteString("keyId", alias.TargetKeyId);
                        w.WriteString("aliasArn", alias.Arn);
                    });
                }
                return ExitCodes.Ok;
            }
            foreach (LocalKmsAlias alias in aliases)
            {
                Console.WriteLine($"{alias.Name}\t{alias.TargetKeyId}\t{alias.Arn}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command DeleteAlias()
    {
        Option<string> data = DataOption();
        Option<string> alias = AliasNameOption();
        var command = new Command("delete-alias", "Delete an alias; the key it named is unchanged (stores opened by the alias can no longer resolve it)")
        {
            data, alias,
        }.WithHelpNote("Output: 'ALIAS: deleted (was KEY_ID)'.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            LocalKmsAlias deleted = LocalKmsTool.DeleteAlias(RequireDataDirectory(parse.GetRequiredValue(data)), parse.GetRequiredValue(alias));
            Console.WriteLine($"{deleted.Name}: deleted (was {deleted.TargetKeyId})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command KeyVerb(string name, string description, Func<string, string, string> change) =>
        KeyVerb(name, description, (data, id, _) => change(data, id));

    /// <summary>
    /// A verb acting on one key, named by <c>--key-id K</c> or, as docs/aws-kms.md writes it, by a
    /// positional argument; it prints what <paramref name="change"/> returns.
    /// </summary>
    private static Command KeyVerb(string name, string description, Func<string, string, ParseResult, string> change)
    {
        Option<string> data = DataOption();
        var keyOption = new Option<string?>("--key-id") { Description = "Key id or key ARN", HelpName = "K" };
        var keyArgument = new Argument<string?>("KEY_ID") { Description = "Key id or ARN (alternative to --key-id)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command(name, description) { data, keyOption, keyArgument }.WithHelpNote("Output: 'KEY_ID: STATE (what it means for stores)'.\n" + ExitCodeHelp);
        command.SetBody(parse => WithKmsErrors(() =>
        {
            string? fromOption = parse.GetValue(keyOption);
            string? fromArgument = parse.GetValue(keyArgument);
            string keyId = (fromOption, fromArgument) switch
            {
                (null, null) => throw new UsageException("name the key: --key-id K"),
                (string o, string a) when !string.Equals(o, a, StringComparison.Ordinal) =>
                    throw new UsageException($"two different keys given ('{o}' and '{a}'): name one"),
                _ => fromOption ?? fromArgument!,
            };
            Console.WriteLine(change(RequireDataDirectory(parse.GetRequiredValue(data)), keyId, parse));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>One line about a key after a change: id, new state, deletion date, and what it means for stores.</summary>
    private static string Describe(LocalKmsKey key, string consequence)
    {
        string until = key.DeletionDate is DateTimeOffset at
            ? " until " + at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
            : string.Empty;
        return $"{key.KeyId}: {key.State}{until} ({consequence})";
    }

    /// <summary>
    /// Key changes need an existing data directory: the local KMS would create a missing one, so a
    /// typo in --data would answer "no such key" from an empty directory it just made.
    /// </summary>
    private static string RequireDataDirectory(string dir)
    {
        string full = Path.GetFullPath(dir);
        return Directory.Exists(full)
            ? full
            : throw new UsageException($"no local KMS data at {full}: the directory does not exist (create a key with: engine kms create-key --data DIR)");
    }

    /// <summary>
    /// <see cref="LocalKmsTool"/> reports AWS errors as <see cref="InvalidOperationException"/> around
    /// the <see cref="KmsError"/> (message "Code: text"); a missing key is exit 1 (like a missing key in <c>get</c>), any other refusal is
    /// a request the key's state or the rules do not allow, so exit 2.
    /// </summary>
    private static int WithKmsErrors(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (InvalidOperationException ex) when (ex.InnerException is KmsError { Code: "NotFoundException" })
        {
            ErrorReporter.Fail(ex.Message);
            return ExitCodes.NotFound;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is KmsError)
        {
            throw new UsageException(ex.Message, ex);
        }
    }
}
