namespace Engine;

/// <summary>
/// Admits calls while the store is open and lets the store wait for calls in flight before it
/// closes RocksDB underneath them. Unlike a reader-writer lock it has no thread affinity, so a
/// lazily enumerated scan can enter on one thread and leave on another.
/// </summary>
internal sealed class OperationGate : IDisposable
{
    private readonly Lock _sync = new();
    private readonly ManualResetEventSlim _drained = new(initialState: true);
    private int _active;
    private Func<Exception>? _closedError;

    /// <summary>Enters the gate or throws the error the gate was closed with.</summary>
    public void Enter()
    {
        lock (_sync)
        {
            if (_closedError is not null)
            {
                throw _closedError();
            }
            if (_active++ == 0)
            {
                _drained.Reset();
            }
        }
    }

    public void Exit()
    {
        lock (_sync)
        {
            if (--_active == 0)
            {
                _drained.Set();
            }
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (_sync)
            {
                return _closedError is not null;
            }
        }
    }

    /// <summary>Refuses new calls with <paramref name="error"/> and waits for calls in flight to leave.</summary>
    public void CloseAndDrain(Func<Exception> error)
    {
        lock (_sync)
        {
            _closedError = error;
        }
        _drained.Wait();
    }

    /// <summary>Admits calls again (after an unlock).</summary>
    public void Reopen()
    {
        lock (_sync)
        {
            _closedError = null;
        }
    }

    public void Dispose() => _drained.Dispose();
}
