using Engine.Testing;
using FsCheck.Experimental;

namespace Engine.Tests.Model;

/// <summary>
/// Fixed command sequences through the same commands and checks as the state machine, so that every edge
/// case the issue names is covered in every run, whatever the random runs happen to draw.
/// </summary>
public sealed class ModelScenarioTests
{
    private static readonly byte[] s_empty = [];
    private static readonly byte[] s_ff3 = [0xFF, 0xFF, 0xFF];

    /// <summary>Runs <paramref name="ops"/> in order, checking store against model after each (as a machine run does).</summary>
    private static void Run(StoreSetup setup, params StoreOp[] ops)
    {
        using var harness = new StoreHarness(setup);
        StoreModel model = StoreModel.Initial(setup);
        foreach (Operation<StoreHarness, StoreModel> op in ops)
        {
            Assert.True(op.Pre(model), $"{op} is not allowed in {model}");
            model = op.Run(model);
            op.Check(harness, model);
        }
    }

    private static StoreSetup InMemory(int frame = 4096) => new(StoreBackend.InMemory, frame, AutoUnlock: true, WithCrashes: false);

    [Fact]
    public void Empty_keys_and_values_keys_that_prefix_each_other_and_absent_deletes()
    {
        Run(InMemory(),
            new PutOp("n", s_empty, s_empty, sync: false),
            new PutOp("n", "a"u8.ToArray(), s_empty, sync: false),
            new PutOp("n", "ab"u8.ToArray(), "1"u8.ToArray(), sync: false),
            new PutOp("n", "abc"u8.ToArray(), "2"u8.ToArray(), sync: false),
            new ScanPrefixOp("n", "ab"u8.ToArray()),
            new DeleteOp("n", "zz"u8.ToArray(), sync: false),
            new DeleteOp("n", "ab"u8.ToArray(), sync: true),
            new DeleteOp("n", "ab"u8.ToArray(), sync: false),
            new GetOp("n", s_empty),
            new FlushOp(),
            new GetOp("n", "a"u8.ToArray()),
            new ReopenOp(),
            new GetOp("n", s_empty));
    }

    [Fact]
    public void Values_over_one_mebibyte_across_small_frames_flush_and_compaction()
    {
        byte[] large = EngineArbitraries.Pattern(EngineArbitraries.LargeValueBytes + 4099, 7);
        Run(InMemory(frame: 512),
            new PutOp("big", "k"u8.ToArray(), large, sync: false),
            new GetOp("big", "k"u8.ToArray()),
            new FlushOp(),
            new PutOp("big", "k2"u8.ToArray(), large, sync: true),
            new CompactOp(),
            new ReopenOp(),
            new ScanOp("big", null, null));
    }

    [Fact]
    public void Scan_bounds_made_of_ff_runs_and_empty_namespaces()
    {
        Run(InMemory(),
            new ScanOp("empty", null, null),
            new ScanOp("empty", s_ff3, null),
            new ScanPrefixOp("empty", s_empty),
            new PutOp("n", [0xFF, 0xFF], "a"u8.ToArray(), sync: false),
            new PutOp("n", s_ff3, "b"u8.ToArray(), sync: false),
            new PutOp("n", [0xFF, 0xFF, 0xFF, 0x00], "c"u8.ToArray(), sync: false),
            new PutOp("n", [0xFF, 0xFF, 0xFF, 0xFF], "d"u8.ToArray(), sync: false),
            new PutOp("n", [0xFE, 0xFF], "e"u8.ToArray(), sync: false),
            new ScanOp("n", s_ff3, null),
            new ScanOp("n", [0xFF, 0xFF], s_ff3),
            new ScanOp("n", [0xFE], [0xFF]),
            new ScanOp("n", s_ff3, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            new ScanOp("n", s_ff3, [0xFF, 0xFF]), // reversed: refused
            new ScanPrefixOp("n", s_ff3),
            new FlushOp(),
            new ScanOp("n", [0xFF, 0xFF, 0xFF, 0x00], [0xFF, 0xFF, 0xFF, 0xFF]));
    }

    [Fact]
    public void Reopening_after_a_namespace_was_deleted_and_its_name_reused()
    {
        Run(InMemory(),
            new PutOp("gone", "k"u8.ToArray(), "old"u8.ToArray(), sync: false),
            new PutOp("kept", "k"u8.ToArray(), "v"u8.ToArray(), sync: false),
            new FlushOp(),
            new PutOp("gone", "wal-only"u8.ToArray(), "x"u8.ToArray(), sync: false),
            new DeleteNamespaceOp("gone"),
            new DeleteNamespaceOp("gone"), // absent now: refused
            new ReopenOp(),
            new TryGetNamespaceOp("gone"),
            new ScanOp("gone", null, null), // a new, empty namespace of the same name
            new PutOp("gone", "k"u8.ToArray(), "new"u8.ToArray(), sync: false),
            new ReopenOp(),
            new GetOp("gone", "k"u8.ToArray()),
            new GetOp("kept", "k"u8.ToArray()));
    }

    [Fact]
    public void Lock_refuses_every_call_and_unlock_brings_all_data_back()
    {
        Run(InMemory() with { AutoUnlock = false },
            new PutOp("n", "k"u8.ToArray(), "v"u8.ToArray(), sync: false),
            new RevokeCmekOp("DisabledException"),
            new PutOp("n", "served"u8.ToArray(), "until the check"u8.ToArray(), sync: false),
            new CheckCmekOp(),
            new GetOp("n", "k"u8.ToArray()),
            new BatchOp(new WriteBatchSpec([new BatchOperation("n", "b"u8.ToArray(), null)]), sync: false),
            new RotateRootKeyOp(),
            new UnlockOp(), // still revoked: refused
            new ReopenOp(), // refused: the store stays closed
            new OpenOp(),
            new RestoreCmekOp(),
            new OpenOp(),
            new ScanOp("n", null, null),
            new RotateCmekOp(),
            new RotateKekOp("n", wait: true),
            new ReopenOp(),
            new KeyStatusOp());
    }

    [Fact]
    public void Crash_after_writes_a_deletion_and_kek_rotations_recovers_exactly_the_model()
    {
        static CrashStep Write(string ns, string key, int length, bool sync) =>
            new(CrashStepKind.Write, new WriteBatchSpec([new BatchOperation(ns, System.Text.Encoding.UTF8.GetBytes(key), EngineArbitraries.Pattern(length, length))]), sync);
        Run(new StoreSetup(StoreBackend.Directory, 4096, AutoUnlock: true, WithCrashes: true),
            new PutOp("a", "k"u8.ToArray(), "v"u8.ToArray(), sync: false),
            new PutOp("b", "k"u8.ToArray(), "v"u8.ToArray(), sync: false),
            new FlushOp(),
            new CrashOp(
                [
                    Write("a", "x", 70_000, sync: false),
                    new CrashStep(CrashStepKind.DeleteNamespace, null, false, "b"),
                    new CrashStep(CrashStepKind.RotateKek, null, false, "a"),
                    new CrashStep(CrashStepKind.RotateKek, null, false),
                    Write("c", "", 0, sync: false),
                    new CrashStep(CrashStepKind.Flush, null, false),
                    Write("a", "y", 10, sync: false),
                ],
                killAfterMs: 150,
                junkSeed: 1),
            new VerifyOp(),
            new KeyStatusOp(),
            new ScanOp("a", null, null),
            new TryGetNamespaceOp("b"),
            new ReopenOp());
    }
}
