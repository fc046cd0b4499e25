using System.CommandLine;
using Engine.Cli.Workload;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine workload</c>: a mixed read/write load on an existing store, for rehearsing a key
/// revocation (tools/rehearse-revocation.sh). See <see cref="WorkloadRunner"/> and <see cref="WorkloadJson"/>.
/// </summary>
internal static class WorkloadCommand
{
    private const int DefaultThreads = 4;
    private const int DefaultMaxKeys = 1_000_000;
    private static readonly TimeSpan DefaultUnlockWait = TimeSpan.FromSeconds(30);

    /// <summary>The engine's floor for StoreOptions.CmekCheckInterval, checked here to name the option in the message.</summary>
    private static readonly TimeSpan MinCheckInterval = TimeSpan.FromMilliseconds(100);

    public static Command Create()
    {
        var defaults = new StoreOptions();
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var seconds = new Option<int>("--seconds") { Description = "Length of the load", Required = true, HelpName = "N" };
        Option<TimeSpan?> checkInterval = Durations.Option("--cmek-check-interval", defaults.CmekCheckInterval,
            "How often the store asks the CMEK whether the key is still usable; a revocation locks it within this");
        Option<TimeSpan?> keyCacheTtl = Durations.Option("--key-cache-ttl", defaults.KeyCacheTtl,
            "How long the store serves from cached keys (Degraded) while the CMEK cannot be reached");
        Option<TimeSpan?> unlockWait = Durations.Option("--unlock-wait", DefaultUnlockWait,
            "If the store is Locked when the load ends, how long to wait for it to unlock before verifying");
        var threads = new Option<int>("--threads") { Description = "Worker threads", HelpName = "T", DefaultValueFactory = _ => DefaultThreads };
        var ns = new Option<string>("--ns") { Description = "Namespace to write (created if missing)", HelpName = "NS", DefaultValueFactory = _ => "workload" };
        var maxKeys = new Option<int>("--max-keys")
        {
            Description = "Distinct keys across all threads; beyond it puts overwrite (bounds memory and verification time)",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultMaxKeys,
        };
        var rate = new Option<int>("--rate")
        {
            Description = "Calls per second across all threads (refusals included); 0 runs as fast as possible",
            HelpName = "N",
        };
        var command = new Command("workload", "Run a mixed read/write load, report the store's state each second, verify every acknowledged write")
        {
            store, cmek, seconds, checkInterval, keyCacheTtl, unlockWait, threads, ns, maxKeys, rate,
        }.WithHelpNote(Help);
        command.SetBody(parse =>
        {
            var settings = new WorkloadSettings(
                RequireRange(parse.GetValue(seconds), "--seconds", 1, 86_400),
                RequireRange(parse.GetValue(threads), "--threads", 1, 256),
                parse.GetRequiredValue(ns),
                RequireRange(parse.GetValue(maxKeys), "--max-keys", 1, 100_000_000),
                parse.GetValue(unlockWait) ?? DefaultUnlockWait,
                RequireRange(parse.GetValue(rate), "--rate", 0, 10_000_000));
            TimeSpan interval = parse.GetValue(checkInterval) ?? defaults.CmekCheckInterval;
            TimeSpan ttl = parse.GetValue(keyCacheTtl) ?? defaults.KeyCacheTtl;
            if (interval < MinCheckInterval)
            {
                throw new UsageException($"--cmek-check-interval must be at least {Durations.Format(MinCheckInterval)} (got {Durations.Format(interval)})");
            }
            if (ttl < interval)
            {
                // The engine refuses this too, but in terms of StoreOptions; say it in terms of the options typed.
                throw new UsageException($"--key-cache-ttl ({Durations.Format(ttl)}) must be at least --cmek-check-interval ({Durations.Format(interval)})");
            }
            using var signal = new TerminationSignal();
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), options =>
            {
                options.CmekCheckInterval = interval;
                options.KeyCacheTtl = ttl;
            });
            return WorkloadRunner.Run(s, settings, signal.Token);
        });
        return command;
    }

    private const string Help = """
        Load: 70% puts without sync (acknowledged = in the write-ahead log) and 30% gets of keys it wrote,
        on every thread, as fast as possible or at --rate. Calls refused with StoreLockedException are
        counted and retried after a few ms. Ctrl-C or SIGTERM ends the load early (the read-back still runs).
        Output, one JSON object per line on stdout:
          each second  {"t":S,"state":"Open|Degraded|Locked","ops":N,"errors":N,"locked_errors":N,"phase":..,"unix":..}
                       (counts for that second; errors excludes lock refusals; phase load, wait or verify)
          at the end   {"summary":true,"acknowledged":N,"verified":N,"missing":N,"wrong":N,"locked_seconds":S,
                        "transitions":[{"t":S,"unix":..,"from":..,"to":..,"reason":..}],"result":..,"exit_code":N,...}
        If the store is Locked when the load ends, the workload waits up to --unlock-wait for it to unlock.
        Exit codes:
          0  every acknowledged write read back intact
          2  bad usage, or not a store
          3  wrong data: a key held bytes never written to it (or failed authentication)
          4  the key is unavailable at open, or the store stayed Locked through --unlock-wait (nothing verified)
          5  other errors, or keys that could not be read back
          6  acknowledged writes missing (absent, or older than the last acknowledged put)
          7  the store is in use by another process
        """;

    private static int RequireRange(int value, string option, int min, int max) =>
        value >= min && value <= max ? value : throw new UsageException($"{option} must be from {min} to {max} (got {value})");
}
