using System.Diagnostics;

namespace Engine.Cli.Workload;

/// <summary>
/// One thread of the workload: 70% puts (not synced: an acknowledgement then means "in the WAL",
/// which is exactly what a lock must not lose) and 30% gets of keys it wrote, on keys only it
/// touches, so that it alone knows what each key must hold. Afterwards, the same object verifies
/// every key it got an acknowledgement for.
/// </summary>
/// <remarks>
/// The counters are written by this worker's thread only and read by the reporter every second, so
/// they need no interlocked operations: one writer, and 64-bit reads are atomic.
/// </remarks>
internal sealed class WorkloadWorker
{
    private const double PutShare = 0.7;

    /// <summary>Half of the puts create keys (until <see cref="_maxKeys"/>), half overwrite one: overwrites are what make a lost write visible as a stale value.</summary>
    private const double NewKeyShare = 0.5;

    /// <summary>A locked store refuses at once; without a pause the workers would spin on the refusal.</summary>
    private static readonly TimeSpan LockedBackoff = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(10);

    /// <summary>How far behind its schedule a paced worker may fall before it forgets the missed calls (after a lock, say) instead of bursting to catch up.</summary>
    private static readonly TimeSpan MaxBacklog = TimeSpan.FromSeconds(1);

    private readonly StoreNamespace _ns;
    private readonly string _keyPrefix;
    private readonly int _maxKeys;
    private readonly double _callsPerSecond;
    private readonly Random _random;
    private readonly List<KeyRecord> _keys = [];
    private long _counter;
    private long _ops;
    private long _errors;
    private long _lockedErrors;
    private long _ackedWrites;
    private long _readMissing;
    private long _readWrong;

    /// <param name="ns">The namespace written.</param>
    /// <param name="keyPrefix">Prefix of this worker's keys; no other worker writes under it.</param>
    /// <param name="maxKeys">Distinct keys this worker creates before it only overwrites.</param>
    /// <param name="callsPerSecond">Pace (calls attempted per second, refusals included), or 0 for as fast as possible.</param>
    /// <param name="seed">Seed of the key and operation choices.</param>
    public WorkloadWorker(StoreNamespace ns, string keyPrefix, int maxKeys, double callsPerSecond, int seed)
    {
        _ns = ns;
        _keyPrefix = keyPrefix;
        _maxKeys = maxKeys;
        _callsPerSecond = callsPerSecond;
#pragma warning disable CA5394 // choosing which key to touch next; nothing secret depends on it
        _random = new Random(seed);
#pragma warning restore CA5394
    }

    /// <summary>Successful calls so far (puts acknowledged, gets answered), load and verification.</summary>
    public long Ops => Volatile.Read(ref _ops);

    /// <summary>Calls that failed with anything but <see cref="StoreLockedException"/>.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Calls refused with <see cref="StoreLockedException"/>.</summary>
    public long LockedErrors => Volatile.Read(ref _lockedErrors);

    public long AckedWrites => Volatile.Read(ref _ackedWrites);

    /// <summary>Gets during the load that found an acknowledged key absent or older than its last ack.</summary>
    public long ReadMissing => Volatile.Read(ref _readMissing);

    /// <summary>Gets during the load that returned bytes never written to that key.</summary>
    public long ReadWrong => Volatile.Read(ref _readWrong);

    /// <summary>The first error other than a lock refusal, for the summary.</summary>
    public string? FirstError { get; private set; }

    /// <summary>Runs the mixed load until <paramref name="stop"/> is cancelled.</summary>
    public void Run(CancellationToken stop)
    {
        long scheduleStart = Stopwatch.GetTimestamp();
        long scheduled = 0;
        while (!stop.IsCancellationRequested)
        {
            if (_callsPerSecond > 0)
            {
                TimeSpan ahead = TimeSpan.FromSeconds(scheduled++ / _callsPerSecond) - Stopwatch.GetElapsedTime(scheduleStart);
                if (ahead > TimeSpan.Zero)
                {
                    stop.WaitHandle.WaitOne(ahead);
                }
                else if (-ahead > MaxBacklog)
                {
                    scheduleStart = Stopwatch.GetTimestamp();
                    scheduled = 1;
                }
            }
            try
            {
#pragma warning disable CA5394 // see the constructor
                bool put = _keys.Count == 0 || _random.NextDouble() < PutShare;
#pragma warning restore CA5394
                if (put)
                {
                    PutOne();
                }
                else
                {
                    GetOne();
                }
                Bump(ref _ops);
            }
            catch (StoreLockedException)
            {
                Bump(ref _lockedErrors);
                stop.WaitHandle.WaitOne(LockedBackoff);
            }
#pragma warning disable CA1031 // counting failures and carrying on is the point of a rehearsal workload
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                Bump(ref _errors);
                FirstError ??= $"{ex.GetType().Name}: {ex.Message}";
                stop.WaitHandle.WaitOne(ErrorBackoff);
            }
        }
    }

    /// <summary>
    /// Reads back every key with an acknowledged put. A lock refusal waits through
    /// <paramref name="waitUntilUnlocked"/> and retries the same key; when that gives up, the
    /// remaining keys are counted as unchecked.
    /// </summary>
    public VerifyTally Verify(Func<bool> waitUntilUnlocked)
    {
        var tally = new VerifyTally();
        for (int i = 0; i < _keys.Count; i++)
        {
            KeyRecord expected = _keys[i];
            if (expected.Acked < 0)
            {
                continue;
            }
            tally.Acknowledged++;
            if (tally.GaveUp)
            {
                tally.Unchecked++;
                continue;
            }
            byte[] key = WorkloadValue.Key(_keyPrefix, i);
            (bool read, byte[]? value) = ReadForVerify(key, waitUntilUnlocked, tally);
            if (read)
            {
                tally.Record(key, WorkloadValue.Check(key, value, expected));
            }
        }
        return tally;
    }

    private (bool Read, byte[]? Value) ReadForVerify(byte[] key, Func<bool> waitUntilUnlocked, VerifyTally tally)
    {
        while (true)
        {
            try
            {
                byte[]? value = _ns.Get(key);
                Bump(ref _ops);
                return (true, value);
            }
            catch (StoreLockedException)
            {
                Bump(ref _lockedErrors);
                if (!waitUntilUnlocked())
                {
                    tally.GaveUp = true;
                    tally.Unchecked++;
                    return (false, null);
                }
            }
            catch (IntegrityException ex)
            {
                Bump(ref _errors);
                tally.RecordUnreadable(key, ex, integrity: true);
                return (false, null);
            }
            catch (EngineException ex)
            {
                Bump(ref _errors);
                tally.RecordUnreadable(key, ex, integrity: false);
                return (false, null);
            }
        }
    }

    private void PutOne()
    {
        int index = ChooseKeyForPut();
        byte[] key = WorkloadValue.Key(_keyPrefix, index);
        long counter = ++_counter;
        try
        {
            _ns.Put(key, WorkloadValue.Encode(key, counter), sync: false);
        }
        catch (StoreLockedException)
        {
            throw; // refused before reaching RocksDB: certainly not applied
        }
        catch
        {
            // Failed somewhere inside: the put may or may not have landed, so both values are acceptable.
            _keys[index] = _keys[index] with { Uncertain = counter };
            throw;
        }
        _keys[index] = new KeyRecord(counter, -1);
        Bump(ref _ackedWrites);
    }

    private void GetOne()
    {
#pragma warning disable CA5394 // see the constructor
        int index = _random.Next(_keys.Count);
#pragma warning restore CA5394
        KeyRecord expected = _keys[index];
        if (expected.Acked < 0)
        {
            PutOne(); // never acknowledged: nothing to check yet
            return;
        }
        byte[] key = WorkloadValue.Key(_keyPrefix, index);
        switch (WorkloadValue.Check(key, _ns.Get(key), expected))
        {
            case Verdict.Missing or Verdict.Stale:
                Bump(ref _readMissing);
                break;
            case Verdict.Wrong:
                Bump(ref _readWrong);
                break;
        }
    }

    private int ChooseKeyForPut()
    {
#pragma warning disable CA5394 // see the constructor
        bool fresh = _keys.Count == 0 || (_keys.Count < _maxKeys && _random.NextDouble() < NewKeyShare);
        if (!fresh)
        {
            return _random.Next(_keys.Count);
        }
#pragma warning restore CA5394
        _keys.Add(KeyRecord.None);
        return _keys.Count - 1;
    }

    private static void Bump(ref long counter) => Volatile.Write(ref counter, counter + 1);
}
