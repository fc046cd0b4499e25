using System.Diagnostics;
using Engine.Bench.Systems;

namespace Engine.Bench.Workloads;

/// <summary>
/// Result of one timed workload: operations done, wall time, and the CPU time of the whole process
/// (all threads, user + system) over the same interval. Wall time is the headline; CPU time is the
/// companion that stays meaningful when other processes compete for the cores.
/// </summary>
internal readonly record struct Timed(long Ops, double Seconds, double CpuSeconds)
{
    public double OpsPerSec => Seconds > 0 ? Ops / Seconds : 0;

    public double OpsPerCpuSec => CpuSeconds > 0 ? Ops / CpuSeconds : 0;
}

/// <summary>Starts a wall clock and a process CPU clock together.</summary>
internal readonly struct Clock
{
    private readonly long _start;
    private readonly TimeSpan _cpu;

    private Clock(long start, TimeSpan cpu)
    {
        _start = start;
        _cpu = cpu;
    }

    public static Clock Start() => new(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);

    public long Ticks => Stopwatch.GetTimestamp() - _start;

    public Timed Stop(long ops) =>
        new(ops, Stopwatch.GetElapsedTime(_start).TotalSeconds, (Environment.CpuUsage.TotalTime - _cpu).TotalSeconds);
}

/// <summary>
/// The timed loops. Keys and values are prepared outside the clock where it is free to do so, and
/// every loop checks its results (a miss or a short scan aborts the run: a fast wrong answer is
/// not a result).
/// </summary>
internal static class Drivers
{
    /// <summary>How often a time-boxed loop looks at the clock.</summary>
    private const int ClockEvery = 256;

    public static Timed Fill(IKvStore store, KeySpace ks, long[]? order, long count)
    {
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        var clock = Clock.Start();
        for (long i = 0; i < count; i++)
        {
            KeySpace.WriteKey(order is null ? i : order[i], key);
            store.Put(key, ks.Value(i));
        }
        return clock.Stop(count);
    }

    public static Timed FillBatched(IKvStore store, KeySpace ks, long[] order, int batchSize)
    {
        var keys = new byte[batchSize * KeySpace.KeySize];
        var values = new byte[batchSize * ks.ValueSize];
        long count = order.Length;
        var clock = Clock.Start();
        for (long first = 0; first < count; first += batchSize)
        {
            int n = (int)Math.Min(batchSize, count - first);
            for (int j = 0; j < n; j++)
            {
                KeySpace.WriteKey(order[first + j], keys.AsSpan(j * KeySpace.KeySize, KeySpace.KeySize));
                ks.Value(first + j).CopyTo(values.AsSpan(j * ks.ValueSize, ks.ValueSize));
            }
            store.PutBatch(keys, KeySpace.KeySize, values, ks.ValueSize, n);
        }
        return clock.Stop(count);
    }

    /// <summary>Random puts to existing keys (uniform, with repetition, like db_bench overwrite).</summary>
    public static Timed Overwrite(IKvStore store, KeySpace ks, long count, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        var clock = Clock.Start();
        for (long i = 0; i < count; i++)
        {
            KeySpace.WriteKey(random.NextInt64(ks.Num), key);
            store.Put(key, ks.Value(i + 7));
        }
        return clock.Stop(count);
    }

    public static Timed ReadRandom(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        var clock = Clock.Start();
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || clock.Ticks < limit))
        {
            long index = random.NextInt64(ks.Num);
            KeySpace.WriteKey(index, key);
            if (store.Get(key) != ks.ValueSize)
            {
                throw new InvalidOperationException($"readrandom: key {index} is missing or has the wrong length");
            }
            ops++;
        }
        return clock.Stop(ops);
    }

    public static Timed ReadSeq(IKvStore store, KeySpace ks)
    {
        var clock = Clock.Start();
        long seen = store.ScanAll();
        Timed result = clock.Stop(seen);
        if (seen != ks.Num)
        {
            throw new InvalidOperationException($"readseq saw {seen} entries, expected {ks.Num}");
        }
        return result;
    }

    public static Timed SeekRandom(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed, int entries = 10)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        var clock = Clock.Start();
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || clock.Ticks < limit))
        {
            long index = random.NextInt64(ks.Num);
            KeySpace.WriteKey(index, key);
            int read = store.SeekAndRead(key, entries);
            if (read != Math.Min(entries, ks.EntriesFrom(index)))
            {
                throw new InvalidOperationException($"seekrandom at {index} read {read} entries");
            }
            ops++;
        }
        return clock.Stop(ops);
    }

    /// <summary>
    /// 90% gets, 10% puts of existing keys, interleaved deterministically by the seed; with
    /// <paramref name="threads"/> above one, each thread drives the same store with its own seed
    /// and ops are summed over threads (CPU time is the whole process's either way).
    /// </summary>
    public static Timed Mixed(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed, int threads = 1)
    {
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        long perThread = Math.Max(1, maxOps / threads);
        var clock = Clock.Start();
        if (threads == 1)
        {
            return clock.Stop(MixedLoop(store, ks, perThread, limit, clock, seed));
        }
        long total = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            Interlocked.Add(ref total, MixedLoop(store, ks, perThread, limit, clock, seed + (t * 7919))));
        return clock.Stop(total);
    }

    private static long MixedLoop(IKvStore store, KeySpace ks, long maxOps, long limitTicks, Clock clock, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || clock.Ticks < limitTicks))
        {
            long index = random.NextInt64(ks.Num);
            KeySpace.WriteKey(index, key);
            if (random.Next(10) == 0)
            {
                store.Put(key, ks.Value(ops + 13));
            }
            else if (store.Get(key) != ks.ValueSize)
            {
                throw new InvalidOperationException($"mixed: key {index} is missing");
            }
            ops++;
        }
        return ops;
    }

    public static Timed FlushAndCompact(IKvStore store, long entries)
    {
        var clock = Clock.Start();
        store.FlushAndCompact();
        return clock.Stop(entries);
    }
}
