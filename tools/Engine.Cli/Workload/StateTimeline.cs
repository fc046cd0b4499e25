namespace Engine.Cli.Workload;

/// <summary>A state transition as the workload reports it: <paramref name="T"/> is seconds since the load started.</summary>
internal sealed record Transition(double T, DateTimeOffset At, StoreState From, StoreState To, string Reason);

/// <summary>
/// Records the store's <see cref="EncryptedStore.StateChanged"/> events with their exact times. The
/// per-second lines only sample the state; a lock shorter than a second, or the precise delay between
/// a revocation and the lock, is only visible here.
/// </summary>
internal sealed class StateTimeline
{
    private readonly Lock _sync = new();
    private readonly List<Transition> _transitions = [];
    private readonly StoreState _initial;

    public StateTimeline(StoreState initial, DateTimeOffset startedAt)
    {
        _initial = initial;
        StartedAt = startedAt;
    }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Subscribed to <see cref="EncryptedStore.StateChanged"/>; runs on the store's check thread.</summary>
    public void OnStateChanged(object? sender, StoreStateChange change)
    {
        var transition = new Transition((change.Time - StartedAt).TotalSeconds, change.Time, change.OldState, change.NewState, change.Reason);
        lock (_sync)
        {
            _transitions.Add(transition);
        }
    }

    public IReadOnlyList<Transition> Snapshot()
    {
        lock (_sync)
        {
            return [.. _transitions];
        }
    }

    /// <summary>Total time spent <see cref="StoreState.Locked"/> from the start until <paramref name="until"/>.</summary>
    public double LockedSeconds(DateTimeOffset until)
    {
        double total = 0;
        DateTimeOffset? lockedSince = _initial == StoreState.Locked ? StartedAt : null;
        foreach (Transition change in Snapshot())
        {
            if (change.To == StoreState.Locked && lockedSince is null)
            {
                lockedSince = change.At;
            }
            else if (change.To != StoreState.Locked && lockedSince is DateTimeOffset since)
            {
                total += (change.At - since).TotalSeconds;
                lockedSince = null;
            }
        }
        if (lockedSince is DateTimeOffset stillSince)
        {
            total += (until - stillSince).TotalSeconds;
        }
        return total;
    }
}
