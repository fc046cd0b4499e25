using System.Globalization;
using System.Text;
using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Model;

/// <summary>What a crash child does: open the store, perform the steps, write a synced barrier, write junk until killed.</summary>
internal sealed record CrashScript(string StorePath, string CmekUri, int FrameSize, int JunkSeed, IReadOnlyList<CrashStep> Steps)
{
    public void Save(string path)
    {
        using var w = new BinaryWriter(File.Create(path), Encoding.UTF8);
        w.Write(StorePath);
        w.Write(CmekUri);
        w.Write(FrameSize);
        w.Write(JunkSeed);
        w.Write(Steps.Count);
        foreach (CrashStep step in Steps)
        {
            w.Write((byte)step.Kind);
            w.Write(step.Sync);
            w.Write(step.Name is not null);
            w.Write(step.Name ?? string.Empty);
            IReadOnlyList<BatchOperation> ops = step.Batch?.Operations ?? [];
            w.Write(ops.Count);
            foreach (BatchOperation op in ops)
            {
                w.Write(op.Namespace);
                w.Write(op.Key.Length);
                w.Write(op.Key);
                w.Write(op.Value is not null);
                if (op.Value is not null)
                {
                    w.Write(op.Value.Length);
                    w.Write(op.Value);
                }
            }
        }
    }

    public static CrashScript Load(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        string store = r.ReadString();
        string uri = r.ReadString();
        int frame = r.ReadInt32();
        int seed = r.ReadInt32();
        var steps = new CrashStep[r.ReadInt32()];
        for (int i = 0; i < steps.Length; i++)
        {
            var kind = (CrashStepKind)r.ReadByte();
            bool sync = r.ReadBoolean();
            bool hasName = r.ReadBoolean();
            string name = r.ReadString();
            var ops = new BatchOperation[r.ReadInt32()];
            for (int j = 0; j < ops.Length; j++)
            {
                string ns = r.ReadString();
                byte[] key = r.ReadBytes(r.ReadInt32());
                byte[]? value = r.ReadBoolean() ? r.ReadBytes(r.ReadInt32()) : null;
                ops[j] = new BatchOperation(ns, key, value);
            }
            steps[i] = new CrashStep(kind, kind == CrashStepKind.Write ? new WriteBatchSpec(ops) : null, sync, hasName ? name : null);
        }
        return new CrashScript(store, uri, frame, seed, steps);
    }
}

/// <summary>
/// A crash of the model: a child process (<see cref="ChildProcess.StartInTests"/>) runs a
/// <see cref="CrashScript"/>, acknowledges every step and a synced barrier on stdout, then writes junk
/// until it is killed with SIGKILL.
/// </summary>
internal static class CrashChild
{
    /// <summary>
    /// Runs <paramref name="script"/> in a child, waits until it acknowledged every step and the synced
    /// barrier (at most <paramref name="timeout"/>), lets <paramref name="killAfterMs"/> pass (the random
    /// kill point inside the junk writes) and kills it.
    /// </summary>
    /// <exception cref="ModelMismatchException">The child did not reach the barrier, or reached it after fewer steps.</exception>
    public static void RunAndKill(CrashScript script, TimeSpan timeout, int killAfterMs)
    {
        string scriptPath = Path.Combine(Path.GetDirectoryName(script.StorePath)!, "crash-script.bin");
        script.Save(scriptPath);
        try
        {
            using ChildProcess child = ChildProcess.StartInTests(typeof(CrashChild), scriptPath);
            int acked = 0;
            // X: a key step the child refused (its namespace is gone); the model ignores it too.
            string? barrier = child.WaitForLine(line => line == "B", timeout, line => acked += line.StartsWith('A') || line.StartsWith('X') ? 1 : 0);
            if (barrier is null)
            {
                child.Kill();
                throw new ModelMismatchException(string.Create(CultureInfo.InvariantCulture,
                    $"the crash child acknowledged {acked} of {script.Steps.Count} steps and no barrier (exit {(child.HasExited ? child.RawExitCode : -1)}): {child.Stderr}"));
            }
            ModelCheck.That(acked == script.Steps.Count, $"the crash child reached the barrier after {acked} of {script.Steps.Count} steps");
            Thread.Sleep(killAfterMs);
            child.Kill();
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }

    /// <summary>The child's side: runs the script, acknowledges on stdout, writes junk until killed.</summary>
    /// <param name="args">The path of the saved script.</param>
    public static int ChildMain(string[] args)
    {
        CrashScript script = CrashScript.Load(args[0]);
        using Stream stdout = Console.OpenStandardOutput();
        void Emit(string line)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(line + "\n");
            stdout.Write(bytes);
            stdout.Flush();
        }
        using EncryptedStore store = EncryptedStore.Open(new StoreOptions
        {
            Path = script.StorePath,
            CmekUri = script.CmekUri,
            CreateIfMissing = false,
            FrameSize = script.FrameSize,
            CmekCheckInterval = TimeSpan.FromHours(1),
            KeyCacheTtl = TimeSpan.FromHours(1),
        });
        Emit("R");
        for (int i = 0; i < script.Steps.Count; i++)
        {
            bool done = Perform(store, script.Steps[i]);
            Emit(string.Create(CultureInfo.InvariantCulture, $"{(done ? 'A' : 'X')} {i}"));
        }
        StoreNamespace scratch = store.GetNamespace(CrashOp.ScratchNamespace);
        scratch.Put("barrier"u8, [], sync: true); // fsyncs the WAL: every earlier write is durable
        Emit("B");
#pragma warning disable CA5394 // junk, not security
        var random = new Random(script.JunkSeed);
        for (long n = 0; ; n++)
        {
            byte[] value = new byte[random.Next(4) switch { 0 => 0, 1 => random.Next(1, 300), 2 => random.Next(300, 20_000), _ => random.Next(20_000, 300_000) }];
            random.NextBytes(value);
            scratch.Put(BitConverter.GetBytes(n % 500), value, sync: random.Next(10) == 0);
            if (random.Next(40) == 0)
            {
                store.Flush();
            }
        }
#pragma warning restore CA5394
    }

    /// <summary>Performs one step; false when a key step was refused because its namespace does not exist.</summary>
    private static bool Perform(EncryptedStore store, CrashStep step)
    {
        try
        {
            switch (step.Kind)
            {
                case CrashStepKind.Flush:
                    store.Flush();
                    break;
                case CrashStepKind.Compact:
                    store.Compact();
                    break;
                case CrashStepKind.DeleteNamespace:
                    store.DeleteNamespace(step.Name!);
                    break;
                case CrashStepKind.RotateKek when step.Name is null:
                    store.Keys.RotateSystemKey(); // the re-wrap runs in the background: the kill interrupts it
                    break;
                case CrashStepKind.RotateKek:
                    store.Keys.RotateNamespaceKey(step.Name);
                    break;
                case CrashStepKind.RotateDataKeys:
                    store.Keys.RotateDataKeys(step.Name);
                    break;
                default:
                    Write(store, step.Batch!, step.Sync);
                    break;
            }
            return true;
        }
        catch (ArgumentException) when (step.Kind is CrashStepKind.DeleteNamespace or CrashStepKind.RotateKek or CrashStepKind.RotateDataKeys)
        {
            return false;
        }
    }

    private static void Write(EncryptedStore store, WriteBatchSpec batch, bool sync)
    {
        if (batch.Operations.Count == 1)
        {
            BatchOperation op = batch.Operations[0];
            StoreNamespace ns = store.GetNamespace(op.Namespace);
            if (op.Value is null)
            {
                ns.Delete(op.Key, sync);
            }
            else
            {
                ns.Put(op.Key, op.Value, sync);
            }
        }
        else
        {
            batch.WriteTo(store, sync);
        }
    }
}
