namespace Engine;

/// <summary>
/// Admits calls while the store is open and lets the store wait for calls in flight before it
/// closes RocksDB underneath them. Unlike a reader-writer lock it has no thread affinity, so a
/// lazily enumerated scan can enter on one thread and leave on another.
/// </summary>
/// <remarks>
/// Lock-free on the call path: <see cref="_state"/> holds the number of calls inside plus a closed
/// bit, and Enter/Exit are one interlocked add each. Why it is safe:
/// <list type="bullet">
/// <item>All changes of <see cref="_state"/> are atomic, so they have one total order. An Enter whose
/// increment comes after the close sets the bit sees the bit and backs out (decrements, throws)
/// without running anything; one whose increment comes before keeps the count above zero until its
/// Exit. So once the drainer reads a count of zero after setting the bit, no call is inside and none
/// can get in (a backing-out Enter may still be counted for a moment, which only delays the drain).</item>
/// <item>No lost wakeup: every decrement that leaves the count at zero while closed signals the
/// event, and the drainer resets the event before it re-reads the count. A signal can be stale (a
/// backing-out Enter of an earlier close, delayed past a reopen), so the drainer re-reads the count
/// after every wakeup instead of trusting the event.</item>
/// <item>The close error is written before the bit is set (interlocked operations are full fences),
/// so an Enter that sees the bit sees an error. Reopen leaves the error in place: an Enter that saw
/// the bit just before a reopen still has one to throw.</item>
/// </list>
/// </remarks>
internal sealed class OperationGate : IDisposable
{
    private const int ClosedBit = 1 << 30;
    private const int CountMask = ClosedBit - 1;

    private readonly ManualResetEventSlim _drained = new(initialState: false);
    private readonly Lock _drainSync = new(); // drainers only: one Reset/Wait loop at a time
    private int _state;
    private Func<Exception>? _closedError;

    /// <summary>Enters the gate or throws the error the gate was closed with.</summary>
    public void Enter()
    {
        if ((Interlocked.Increment(ref _state) & ClosedBit) != 0)
        {
            BackOut();
        }
    }

    private void BackOut()
    {
        Exit();
        throw Volatile.Read(ref _closedError)!();
    }

    /// <summary>Leaves the gate; pairs with a successful <see cref="Enter"/>, on any thread.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _state) == ClosedBit)
        {
            // Set on a disposed ManualResetEventSlim is harmless (it has no kernel handle to close),
            // which a late backing-out Enter after the store's Dispose relies on.
            _drained.Set();
        }
    }

    public bool IsClosed => (Volatile.Read(ref _state) & ClosedBit) != 0;

    /// <summary>Refuses new calls with <paramref name="error"/> and waits for calls in flight to leave.</summary>
    public void CloseAndDrain(Func<Exception> error)
    {
        lock (_drainSync)
        {
            Volatile.Write(ref _closedError, error);
            _drained.Reset();
            Interlocked.Or(ref _state, ClosedBit);
            while ((Volatile.Read(ref _state) & CountMask) != 0)
            {
                _drained.Wait();
                _drained.Reset(); // then re-read the count: a signal after this reset wakes the next Wait
            }
        }
    }

    /// <summary>Admits calls again (after an unlock).</summary>
    public void Reopen() => Interlocked.And(ref _state, ~ClosedBit);

    public void Dispose() => _drained.Dispose();
}
