using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Engine.Tests.Model;

/// <summary>
/// What the model runs of this process covered: commands executed (per kind), distinct model states
/// (fingerprint of lock state, CMEK answer, namespaces and all their entries) and distinct state shapes
/// (lock state, CMEK answer, namespace count, per-namespace key counts in powers of two). Thread-safe.
/// </summary>
internal static class PbtStats
{
    private static readonly Lock s_sync = new();
    private static readonly HashSet<ulong> s_states = [];
    private static readonly HashSet<ulong> s_shapes = [];
    private static readonly ConcurrentDictionary<string, long> s_perKind = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, long> s_ticksPerKind = new(StringComparer.Ordinal);
    private static long s_commands;
    private static long s_largeValueStates;
    private static int s_maxNamespaces;
    private static int s_maxKeys;

    public static long Commands => Interlocked.Read(ref s_commands);

    public static int DistinctStates
    {
        get
        {
            lock (s_sync)
            {
                return s_states.Count;
            }
        }
    }

    public static void Record(string kind, StoreModel model, TimeSpan took)
    {
        Interlocked.Increment(ref s_commands);
        s_perKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
        s_ticksPerKind.AddOrUpdate(kind, took.Ticks, (_, n) => n + took.Ticks);
        ulong state = model.Fingerprint();
        ulong shape = model.ShapeFingerprint();
        bool large = model.Namespaces.Values.Any(ns => ns.Values.Any(v => v.Length >= Engine.Testing.EngineArbitraries.LargeValueBytes));
        lock (s_sync)
        {
            s_states.Add(state);
            s_shapes.Add(shape);
            s_maxNamespaces = Math.Max(s_maxNamespaces, model.Namespaces.Count + model.OpaqueNamespaces.Count);
            s_maxKeys = Math.Max(s_maxKeys, model.KeyCount);
            if (large)
            {
                s_largeValueStates++;
            }
        }
    }

    /// <summary>A multi-line summary for test output and the long-mode report.</summary>
    public static string Summary()
    {
        var sb = new StringBuilder();
        lock (s_sync)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"commands executed: {Commands}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"distinct states (lock state + CMEK + every namespace's entries): {s_states.Count}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"distinct state shapes (lock state, CMEK, namespace count, key counts in powers of two): {s_shapes.Count}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"most namespaces in one state: {s_maxNamespaces}; most keys: {s_maxKeys}; states holding a value of 1 MiB or more: {s_largeValueStates}");
        }
        sb.Append("commands by kind (count, mean time incl. the model check): ");
        sb.AppendJoin(", ", s_perKind.OrderByDescending(kv => kv.Value).Select(kv => string.Create(CultureInfo.InvariantCulture,
            $"{kv.Key} {kv.Value} ({TimeSpan.FromTicks(s_ticksPerKind.GetValueOrDefault(kv.Key) / Math.Max(1, kv.Value)).TotalMilliseconds:0.#} ms)")));
        return sb.ToString();
    }
}
