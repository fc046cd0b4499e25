using Xunit.Abstractions;

namespace Engine.Tests.Model;

/// <summary>
/// The stateful model property on the in-memory store: puts, deletes, batches across namespaces, gets,
/// bounded and prefix scans, namespace creation (hundreds at once), flush, compact, close and reopen,
/// CMEK revoke/transient/restore with checks and unlocks, a scan interrupted by a lock, snapshots (reads
/// through them equal the model at snapshot time), cursors, TryGet, Contains and MultiGet; the store must
/// equal the model after every command. Budget: ENGINE_PBT_RUNS, ENGINE_PBT_MINUTES, ENGINE_PBT_SEED.
/// </summary>
public sealed class InMemoryModelTests(ITestOutputHelper output)
{
    [Fact]
    public void InMemory_store_matches_the_model() =>
        PbtRunner.Run(nameof(InMemory_store_matches_the_model), new StoreMachine(StoreBackend.InMemory, crashes: false, maxManyNamespaces: PbtBudget.FromEnvironment().Minutes is null ? 40 : 200),
            defaultRuns: 40, runsShare: 1.0, maxCommands: 50, output);
}

/// <summary>
/// The same model on a store directory, plus Verify, crash + reopen (a child process performs
/// writes, a synced barrier, then junk writes and flushes until SIGKILL) and read-only reopens.
/// </summary>
public sealed class DirectoryModelTests(ITestOutputHelper output)
{
    [Fact]
    public void Directory_store_matches_the_model_across_crashes() =>
        PbtRunner.Run(nameof(Directory_store_matches_the_model_across_crashes), new StoreMachine(StoreBackend.Directory, crashes: true, maxManyNamespaces: 0),
            defaultRuns: 10, runsShare: 0.25, maxCommands: 40, output);
}
