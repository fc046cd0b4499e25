using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Engine.Testing;

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
/// A child process that runs a <see cref="CrashScript"/> and is killed with SIGKILL. The child is this
/// test assembly itself, started by <c>dotnet Engine.Tests.dll</c> with <c>DOTNET_STARTUP_HOOKS</c>
/// pointing at it: the runtime calls <see cref="StartupHook.Initialize"/> before the (empty) test-SDK
/// entry point, and it runs the script named by <see cref="ScriptVariable"/>. Same binaries as the
/// test, nothing to build.
/// </summary>
internal sealed class CrashChild : IDisposable
{
    public const string ScriptVariable = "ENGINE_PBT_CRASH_SCRIPT";

    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly string _scriptPath;

    private CrashChild(Process process, string scriptPath)
    {
        _process = process;
        _scriptPath = scriptPath;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.CompleteAdding();
            }
            else
            {
                _lines.Add(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static CrashChild Start(CrashScript script)
    {
        string scriptPath = Path.Combine(Path.GetDirectoryName(script.StorePath)!, "crash-script.bin");
        script.Save(scriptPath);
        string assembly = typeof(CrashChild).Assembly.Location;
        var psi = new ProcessStartInfo(Support.ChildProgramBuild.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(assembly);
        psi.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
        psi.Environment[ScriptVariable] = scriptPath;
        psi.Environment["DOTNET_gcServer"] = "0";
        return new CrashChild(Process.Start(psi) ?? throw new InvalidOperationException("could not start the crash child"), scriptPath);
    }

    /// <summary>Waits until the child acknowledged every step and the synced barrier.</summary>
    public void WaitForBarrier(int steps, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        int acked = 0;
        while (true)
        {
            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero || !_lines.TryTake(out string? line, left))
            {
                Kill();
                throw new ModelMismatchException(string.Create(CultureInfo.InvariantCulture,
                    $"the crash child acknowledged {acked} of {steps} steps and no barrier (exit {(_process.HasExited ? _process.ExitCode : -1)}): {Stderr()}"));
            }
            if (line == "B")
            {
                ModelCheck.That(acked == steps, $"the crash child reached the barrier after {acked} of {steps} steps");
                return;
            }
            if (line.StartsWith('A') || line.StartsWith('X'))
            {
                acked++; // X: a key step the child refused (its namespace is gone); the model ignores it too
            }
        }
    }

    /// <summary>SIGKILL, then wait for the process to be gone.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        _process.WaitForExit();
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _lines.Dispose();
        File.Delete(_scriptPath);
    }

    /// <summary>The child's side: runs the script, acknowledges on stdout, writes junk until killed.</summary>
    public static int RunChild(string scriptPath)
    {
        CrashScript script = CrashScript.Load(scriptPath);
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
