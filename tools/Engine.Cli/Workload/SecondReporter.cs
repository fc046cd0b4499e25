using System.Diagnostics;

namespace Engine.Cli.Workload;

/// <summary>
/// Prints one JSON line per second (see <see cref="WorkloadJson.Second"/>) on its own thread, from
/// the start of the load until <see cref="Stop"/>, through every phase: load, waiting for an unlock,
/// verification. Ticks are aligned to the start, so line <c>t</c> is printed <c>t</c> seconds in
/// even when a tick is late.
/// </summary>
internal sealed class SecondReporter : IDisposable
{
    private readonly EncryptedStore _store;
    private readonly IReadOnlyList<WorkloadWorker> _workers;
    private readonly long _start;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private volatile string _phase = "load";

    public SecondReporter(EncryptedStore store, IReadOnlyList<WorkloadWorker> workers, long startTimestamp)
    {
        _store = store;
        _workers = workers;
        _start = startTimestamp;
        _thread = new Thread(Loop) { IsBackground = true, Name = "workload reporter" };
        _thread.Start();
    }

    /// <summary>Shown in each line as <c>phase</c>: <c>load</c>, <c>wait</c> (for an unlock) or <c>verify</c>.</summary>
    public string Phase
    {
        get => _phase;
        set => _phase = value;
    }

    /// <summary>Stops after the current line; no partial second is printed.</summary>
    public void Stop()
    {
        _stop.Set();
        _thread.Join();
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            Stop();
        }
        _stop.Dispose();
    }

    private void Loop()
    {
        (long ops, long errors, long locked) previous = (0, 0, 0);
        for (int t = 1; ; t++)
        {
            TimeSpan untilTick = TimeSpan.FromSeconds(t) - Stopwatch.GetElapsedTime(_start);
            if (_stop.Wait(untilTick > TimeSpan.Zero ? untilTick : TimeSpan.Zero))
            {
                return;
            }
            (long ops, long errors, long locked) now = Totals();
            Console.WriteLine(WorkloadJson.Second(t, _store.State, now.ops - previous.ops, now.errors - previous.errors,
                now.locked - previous.locked, _phase, DateTimeOffset.UtcNow));
            previous = now;
        }
    }

    private (long Ops, long Errors, long Locked) Totals()
    {
        long ops = 0, errors = 0, locked = 0;
        foreach (WorkloadWorker worker in _workers)
        {
            ops += worker.Ops;
            errors += worker.Errors;
            locked += worker.LockedErrors;
        }
        return (ops, errors, locked);
    }
}
