using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Engine.Tests.Model;

/// <summary>
/// What the model runs of one property covered: commands executed (per kind), distinct model states
/// (fingerprint of lock state, CMEK answer, namespaces and all their entries) and distinct state shapes
/// (lock state, CMEK answer, namespace count, per-namespace key counts in powers of two). Thread-safe.
/// Each property run collects into its own instance (<see cref="Use"/>): the in-memory and the directory
/// model run in parallel in one process, and a shared tally made each report count both.
/// </summary>
internal sealed class PbtStats
{
    private static readonly AsyncLocal<PbtStats?> s_current = new();
    private static readonly PbtStats s_unscoped = new();

    private readonly Lock _sync = new();
    private readonly HashSet<ulong> _states = [];
    private readonly HashSet<ulong> _shapes = [];
    private readonly ConcurrentDictionary<string, long> _perKind = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _ticksPerKind = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _background = new(StringComparer.Ordinal);
    private long _commands;
    private long _largeValueStates;
    private int _maxNamespaces;
    private int _maxKeys;

    /// <summary>The statistics of the property running on this logical thread of control.</summary>
    public static PbtStats Current => s_current.Value ?? s_unscoped;

    /// <summary>Makes <paramref name="stats"/> the current statistics until the returned scope is disposed.</summary>
    public static IDisposable Use(PbtStats stats)
    {
        PbtStats? previous = s_current.Value;
        s_current.Value = stats;
        return new Scope(() => s_current.Value = previous);
    }

    private sealed class Scope(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    public long Commands => Interlocked.Read(ref _commands);

    public int DistinctStates
    {
        get
        {
            lock (_sync)
            {
                return _states.Count;
            }
        }
    }

    public void Record(string kind, StoreModel model, TimeSpan took)
    {
        Interlocked.Increment(ref _commands);
        _perKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
        _ticksPerKind.AddOrUpdate(kind, took.Ticks, (_, n) => n + took.Ticks);
        ulong state = model.Fingerprint();
        ulong shape = model.ShapeFingerprint();
        bool large = model.Namespaces.Values.Any(ns => ns.Values.Any(v => v.Length >= Engine.Testing.EngineArbitraries.LargeValueBytes));
        lock (_sync)
        {
            _states.Add(state);
            _shapes.Add(shape);
            _maxNamespaces = Math.Max(_maxNamespaces, model.Namespaces.Count + model.OpaqueNamespaces.Count);
            _maxKeys = Math.Max(_maxKeys, model.KeyCount);
            if (large)
            {
                _largeValueStates++;
            }
        }
    }

    /// <summary>Something the store did behind the commands' back that the model accepted (see <see cref="DegradedRetry"/>).</summary>
    public void RecordBackground(string what) => _background.AddOrUpdate(what, 1, (_, n) => n + 1);

    /// <summary>A multi-line summary for test output and the long-mode report.</summary>
    public string Summary()
    {
        var sb = new StringBuilder();
        lock (_sync)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"commands executed: {Commands}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"distinct states (lock state + CMEK + every namespace's entries): {_states.Count}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"distinct state shapes (lock state, CMEK, namespace count, key counts in powers of two): {_shapes.Count}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"most namespaces in one state: {_maxNamespaces}; most keys: {_maxKeys}; states holding a value of 1 MiB or more: {_largeValueStates}");
        }
        sb.Append("commands by kind (count, mean time incl. the model check): ");
        sb.AppendJoin(", ", _perKind.OrderByDescending(kv => kv.Value).Select(kv => string.Create(CultureInfo.InvariantCulture,
            $"{kv.Key} {kv.Value} ({TimeSpan.FromTicks(_ticksPerKind.GetValueOrDefault(kv.Key) / Math.Max(1, kv.Value)).TotalMilliseconds:0.#} ms)")));
        if (!_background.IsEmpty)
        {
            sb.AppendLine().Append("accepted background retries of a degraded store: ");
            sb.AppendJoin(", ", _background.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}")));
        }
        return sb.ToString();
    }
}
