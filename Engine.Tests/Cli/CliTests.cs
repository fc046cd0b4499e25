using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Engine.Tests.Support;

namespace Engine.Tests.Cli;

/// <summary>
/// The <c>engine</c> tool as people use it (issue 15, "The CLI as people expect"), driven as a child
/// process: --json on every verb that prints data, put --value-file, unknown options, progress on stderr,
/// help pages, and the store-in-use exit code on every verb that opens a store.
/// </summary>
public sealed class CliTests
{
    private const int NotFound = 1;
    private const int Usage = 2;
    private const int StoreInUse = 7;

    [Fact]
    public void Json_lines_of_get_scan_namespaces_verify_and_keys_status_parse_and_carry_the_data()
    {
        using var dir = NewStore();
        byte[] binary = [0xff, 0x00, (byte)'b', 0x80];
        string valueFile = Path.Combine(dir.Root, "value.bin");
        File.WriteAllBytes(valueFile, binary);
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "docs", "a", "héllo").Expect(0);
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "docs", "--value-file", valueFile, "b").Expect(0);
        CliRun.Of(Encoding.UTF8.GetBytes("from\nstdin"), "put", "--store", dir.StorePath, "--ns", "docs", "--value-file", "-", "c").Expect(0);

        JsonElement got = Single(CliRun.Of("get", "--store", dir.StorePath, "--ns", "docs", "--json", "a").Expect(0));
        Assert.Equal("a", got.GetProperty("key").GetString());
        Assert.Equal("héllo", got.GetProperty("value").GetString());
        Assert.False(got.TryGetProperty("value_b64", out _), "valid UTF-8 is written as text only");
        CliRun missing = CliRun.Of("get", "--store", dir.StorePath, "--ns", "docs", "--json", "nope").Expect(NotFound);
        Assert.Empty(missing.StdoutBytes);

        List<JsonElement> scan = Parse(CliRun.Of("scan", "--store", dir.StorePath, "--ns", "docs", "--json").Expect(0));
        Assert.Equal(["a", "b", "c"], scan.Select(e => e.GetProperty("key").GetString()));
        Assert.Equal("héllo", scan[0].GetProperty("value").GetString());
        Assert.False(scan[1].TryGetProperty("value", out _), "bytes that are not UTF-8 have no text field");
        Assert.Equal(binary, scan[1].GetProperty("value_b64").GetBytesFromBase64());
        Assert.Equal("from\nstdin", scan[2].GetProperty("value").GetString());

        List<JsonElement> names = Parse(CliRun.Of("namespaces", "--store", dir.StorePath, "--json").Expect(0));
        Assert.Contains("docs", names.Select(e => e.GetProperty("name").GetString()));

        CliRun verify = CliRun.Of("verify", "--store", dir.StorePath, "--json").Expect(0);
        List<JsonElement> files = Parse(verify);
        JsonElement summary = files[^1];
        Assert.True(summary.GetProperty("summary").GetBoolean());
        Assert.True(summary.GetProperty("ok").GetBoolean());
        Assert.Equal(files.Count - 1, summary.GetProperty("files").GetInt32());
        Assert.Equal(files[..^1].Sum(f => f.GetProperty("bytes").GetInt64()), summary.GetProperty("bytes").GetInt64());
        Assert.All(files[..^1], f => Assert.False(Path.IsPathRooted(f.GetProperty("file").GetString())));
        // Progress went to stderr, as lines (stderr is not a terminal here): stdout is only data.
        Assert.Contains("verify:", verify.Stderr, StringComparison.Ordinal);

        JsonElement status = Single(CliRun.Of("keys", "status", "--store", dir.StorePath, "--json").Expect(0));
        Assert.Contains("docs", status.GetProperty("scopes").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }

    [Fact]
    public void Scan_json_imports_back_byte_for_byte()
    {
        using var dir = NewStore();
        using var copy = NewStore();
        byte[] binary = [0x00, 0xc3, 0x28, 0x0a];
        string valueFile = Path.Combine(dir.Root, "value.bin");
        File.WriteAllBytes(valueFile, binary);
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "text", "tab\there").Expect(0);
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "--value-file", valueFile, "bin").Expect(0);

        CliRun scan = CliRun.Of("scan", "--store", dir.StorePath, "--ns", "n", "--json").Expect(0);
        CliRun import = CliRun.Of(scan.StdoutBytes, "import", "--store", copy.StorePath, "--ns", "n", "--format", "jsonl", "-").Expect(0);
        Assert.Contains("import:", import.Stderr, StringComparison.Ordinal);
        Assert.Single(import.Lines); // the summary; progress is on stderr

        using EncryptedStore reopened = copy.Open();
        StoreNamespace ns = reopened.GetNamespace("n");
        Assert.Equal(binary, ns.Get("bin"u8.ToArray()));
        Assert.Equal("tab\there", ns.Get("text"));
    }

    [Fact]
    public void Put_takes_exactly_one_value_source()
    {
        using var dir = NewStore();
        string valueFile = Path.Combine(dir.Root, "v.txt");
        File.WriteAllText(valueFile, "x");
        Assert.Contains("exactly one", CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "--value-file", valueFile, "k", "v").Expect(Usage).Stderr, StringComparison.Ordinal);
        Assert.Contains("exactly one", CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "k").Expect(Usage).Stderr, StringComparison.Ordinal);
        Assert.Contains("no value file", CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "--value-file", valueFile + ".missing", "k").Expect(Usage).Stderr, StringComparison.Ordinal);
        using EncryptedStore store = dir.Open();
        Assert.False(store.TryGetNamespace("n", out _), "a refused put wrote nothing");
    }

    [Fact]
    public void An_unknown_option_is_a_usage_error_and_keys_starting_with_a_dash_go_after_double_dash()
    {
        using var dir = NewStore();
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "a", "k0", "v0").Expect(0);

        CliRun bogus = CliRun.Of("put", "--store", dir.StorePath, "--ns", "a", "--bogus-opt", "k").Expect(Usage);
        Assert.Contains("unknown option '--bogus-opt'", bogus.Stderr, StringComparison.Ordinal);
        CliRun.Of("get", "--store", dir.StorePath, "--ns", "a", "--", "--bogus-opt").Expect(NotFound);
        CliRun.Of("scan", "--store", dir.StorePath, "--ns", "a", "-x").Expect(Usage);
        Assert.Contains("keys rotate-ns", CliRun.Of("keys", "rotate-ns", "--store", dir.StorePath, "--ns", "a", "--bogus").Expect(Usage).Stderr, StringComparison.Ordinal);

        CliRun.Of("put", "--store", dir.StorePath, "--ns", "a", "--", "-k", "-v").Expect(0);
        Assert.Equal("-v", CliRun.Of("get", "--store", dir.StorePath, "--ns", "a", "--", "-k").Expect(0).Stdout.TrimEnd('\n'));
        // An option's own value may start with '-'.
        Assert.Equal(["-k\t-v"], CliRun.Of("scan", "--store", dir.StorePath, "--ns", "a", "--prefix", "-").Expect(0).Lines);
    }

    [Fact]
    public void Every_verb_help_lists_the_exit_codes_and_compact_does_not_claim_a_dek_rotation()
    {
        string[][] verbs =
        [
            ["init"], ["put"], ["get"], ["delete"], ["scan"], ["import"], ["namespaces"], ["flush"], ["compact"], ["verify"],
            ["log"], ["demo"], ["workload"], ["kms", "serve"], ["kms", "list-keys"], ["kms", "disable-key"],
            ["keys", "status"], ["keys", "rotate-cmek"], ["keys", "rotate-root"], ["keys", "rotate-ns"], ["keys", "rotate-data"],
            ["keys", "finish"], ["keys", "delete-ns"], ["keys", "destroy-store"],
        ];
        foreach (string[] verb in verbs)
        {
            string help = CliRun.Of([.. verb, "--help"]).Expect(0).Stdout;
            Assert.True(help.Contains("Exit codes:", StringComparison.Ordinal), $"engine {string.Join(' ', verb)} --help lists no exit codes:\n{help}");
            Assert.Matches(@"(?m)^\s+0\s", help);
        }
        string compact = CliRun.Of("compact", "--help").Expect(0).Stdout;
        Assert.DoesNotContain("rewrites SSTs under fresh data keys", compact, StringComparison.Ordinal);
        Assert.Contains("keys", compact, StringComparison.Ordinal);
        Assert.Contains("rotate-data", compact, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+7\s+the store is in use", compact);
    }

    [Fact]
    public void The_readme_exit_code_table_lists_the_codes_the_tool_documents()
    {
        string help = CliRun.Of("--help").Expect(0).Stdout;
        string exitSection = help[help.IndexOf("Exit codes:", StringComparison.Ordinal)..];
        int[] fromHelp = [.. Regex.Matches(exitSection, @"(?m)^\s+(\d)\s").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        string cliSection = readme[readme.IndexOf("## Command-line tool", StringComparison.Ordinal)..readme.IndexOf("## Customer-managed keys", StringComparison.Ordinal)];
        int[] fromReadme = [.. Regex.Matches(cliSection, @"(?m)^\| (\d) \|").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], fromHelp);
        Assert.Equal(fromHelp, fromReadme);
        Assert.Contains("unknown namespace", cliSection, StringComparison.Ordinal);
        Assert.Contains("store is in use", cliSection, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_store_verb_exits_with_the_store_in_use_code_while_another_instance_holds_it()
    {
        using var dir = NewStore();
        using EncryptedStore holder = dir.Open();
        holder.GetNamespace("n").Put("k", "v");
        string input = Path.Combine(dir.Root, "in.csv");
        File.WriteAllText(input, "a,1\n");
        string[][] verbs =
        [
            ["put", "--ns", "n", "k2", "v2"], ["get", "--ns", "n", "k"], ["delete", "--ns", "n", "k"], ["scan", "--ns", "n"],
            ["namespaces"], ["flush"], ["compact"], ["verify"], ["import", "--ns", "n", input],
            ["keys", "status"], ["keys", "rotate-root"], ["keys", "rotate-data"], ["keys", "finish"],
        ];
        foreach (string[] verb in verbs)
        {
            CliRun run = CliRun.Of([.. verb, "--store", dir.StorePath]);
            Assert.True(run.ExitCode == StoreInUse, $"engine {string.Join(' ', verb)}: exit {run.ExitCode}, stderr: {run.Stderr}");
            Assert.StartsWith("engine: store in use: ", run.Stderr, StringComparison.Ordinal);
        }
        Assert.Equal("v", holder.GetNamespace("n").Get("k"));
    }

    [Fact]
    public void Compact_and_rotate_data_report_progress_on_stderr_and_results_on_stdout()
    {
        using var dir = NewStore();
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "n", "k", "v").Expect(0);

        CliRun compact = CliRun.Of("compact", "--store", dir.StorePath).Expect(0);
        Assert.Equal([$"compacted {dir.StorePath}"], compact.Lines);
        Assert.Matches(@"(?m)^compact: +[0-9.]+s started$", compact.Stderr);
        Assert.Matches(@"(?m)^compact: +[0-9.]+s done$", compact.Stderr);

        CliRun rotate = CliRun.Of("keys", "rotate-data", "--store", dir.StorePath).Expect(0);
        Assert.All(rotate.Lines, l => Assert.DoesNotMatch("^rotate-data:", l));
        Assert.Matches(@"(?m)^rotate-data: +[0-9.]+s done$", rotate.Stderr);
    }

    [Fact]
    public void Kms_list_keys_and_list_aliases_print_json_lines()
    {
        using var dir = new TestStoreDirectory();
        string data = Path.Combine(dir.Root, "kms");
        string keyId = CliRun.Of("kms", "create-key", "--data", data, "--description", "tab\there").Expect(0)
            .Lines.Single(l => l.StartsWith("key-id: ", StringComparison.Ordinal))["key-id: ".Length..];
        CliRun.Of("kms", "create-alias", "--data", data, "--alias-name", "alias/cli-test", "--key-id", keyId).Expect(0);

        JsonElement key = Single(CliRun.Of("kms", "list-keys", "--data", data, "--json").Expect(0));
        Assert.Equal(keyId, key.GetProperty("keyId").GetString());
        Assert.Equal("Enabled", key.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, key.GetProperty("deletionDate").ValueKind);
        Assert.Equal("tab\there", key.GetProperty("description").GetString());
        Assert.EndsWith(keyId, key.GetProperty("arn").GetString(), StringComparison.Ordinal);

        JsonElement alias = Single(CliRun.Of("kms", "list-aliases", "--data", data, "--json").Expect(0));
        Assert.Equal("alias/cli-test", alias.GetProperty("alias").GetString());
        Assert.Equal(keyId, alias.GetProperty("keyId").GetString());
        Assert.EndsWith(":alias/cli-test", alias.GetProperty("aliasArn").GetString(), StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Storage.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        Assert.True(dir is not null, "run from the repository (Storage.sln not found above " + AppContext.BaseDirectory + ")");
        return dir;
    }

    /// <summary>A store created in this process and closed again, so the tool can open it (it records its CMEK).</summary>
    private static TestStoreDirectory NewStore()
    {
        var dir = new TestStoreDirectory();
        dir.Open().Dispose();
        return dir;
    }

    private static List<JsonElement> Parse(CliRun run)
    {
        Assert.EndsWith("\n", run.Stdout, StringComparison.Ordinal);
        return [.. run.Lines.Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    private static JsonElement Single(CliRun run) => Assert.Single(Parse(run));
}
