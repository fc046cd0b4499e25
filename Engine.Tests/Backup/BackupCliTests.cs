using System.Text.Json;
using Engine.Tests.Cli;
using Engine.Tests.Support;

namespace Engine.Tests.Backup;

/// <summary><c>engine backup create|list|verify|restore</c> as a child process: output, --json and exit codes.</summary>
public sealed class BackupCliTests
{
    [Fact]
    public void Create_list_verify_restore_and_their_exit_codes()
    {
        using var dir = new TestStoreDirectory();
        string backups = Path.Combine(dir.Root, "backups");
        string target = Path.Combine(dir.Root, "restored");
        CliRun.Of("init", "--store", dir.StorePath, "--cmek", dir.CmekUri).Expect(0);
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "docs", "a", "alpha").Expect(0);

        JsonElement created = JsonDocument.Parse(CliRun.Of("backup", "create", "--store", dir.StorePath, "--to", backups, "--json").Expect(0).Lines.Single()).RootElement;
        Assert.Equal(1, created.GetProperty("id").GetInt64());
        Assert.Equal(created.GetProperty("bytes").GetInt64(), created.GetProperty("newBytes").GetInt64());
        CliRun.Of("put", "--store", dir.StorePath, "--ns", "docs", "b", "beta").Expect(0);
        CliRun.Of("backup", "create", "--store", dir.StorePath, "--to", backups).Expect(0);

        Assert.Equal(2, CliRun.Of("backup", "list", "--from", backups, "--json").Expect(0).Lines.Count);
        JsonElement verified = JsonDocument.Parse(CliRun.Of("backup", "verify", "--from", backups, "--id", "1", "--json").Expect(0).Lines.Single()).RootElement;
        Assert.True(verified.GetProperty("ok").GetBoolean());

        CliRun.Of("backup", "restore", "--from", backups, "--id", "1", "--to", target).Expect(0);
        Assert.Equal("alpha", CliRun.Of("get", "--store", target, "--ns", "docs", "a").Expect(0).Stdout.Trim());
        CliRun.Of("get", "--store", target, "--ns", "docs", "b").Expect(1);

        // Usage errors: a non-empty target, an unknown id, a missing directory (2).
        Assert.Contains("not empty", CliRun.Of("backup", "restore", "--from", backups, "--to", target).Expect(2).Stderr, StringComparison.Ordinal);
        CliRun.Of("backup", "verify", "--from", backups, "--id", "9").Expect(2);
        CliRun.Of("backup", "list", "--from", Path.Combine(dir.Root, "nope")).Expect(2);
        // The wrong CMEK (4), writing nothing.
        string other = dir.CreateOtherKey();
        string elsewhere = Path.Combine(dir.Root, "elsewhere");
        CliRun.Of("backup", "restore", "--from", backups, "--to", elsewhere, "--cmek", "file:" + other).Expect(4);
        Assert.False(Directory.Exists(elsewhere));
        // Tampering (3): a flipped byte in every shared SST (backup 1 lists some of them, backup 2 all).
        foreach (string sst in Directory.GetFiles(Path.Combine(backups, "shared"), "*.sst", SearchOption.AllDirectories))
        {
            byte[] bytes = File.ReadAllBytes(sst);
            bytes[1500] ^= 0x04;
            File.WriteAllBytes(sst, bytes);
        }
        Assert.Contains("integrity failure", CliRun.Of("backup", "verify", "--from", backups, "--id", "1").Expect(3).Stderr, StringComparison.Ordinal);
        // Every verb's help lists the exit codes.
        foreach (string verb in new[] { "create", "list", "verify", "restore" })
        {
            Assert.Contains("Exit codes:", CliRun.Of("backup", verb, "--help").Expect(0).Stdout, StringComparison.Ordinal);
        }
    }
}
