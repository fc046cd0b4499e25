using System.Diagnostics;
using Engine.Bench.Systems;

namespace Engine.Bench.Workloads;

/// <summary>Result of one timed workload: operations done and wall time.</summary>
internal readonly record struct Timed(long Ops, double Seconds)
{
    public double OpsPerSec => Seconds > 0 ? Ops / Seconds : 0;
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
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < count; i++)
        {
            KeySpace.WriteKey(order is null ? i : order[i], key);
            store.Put(key, ks.Value(i));
        }
        return new Timed(count, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    public static Timed FillBatched(IKvStore store, KeySpace ks, long[] order, int batchSize)
    {
        var keys = new byte[batchSize * KeySpace.KeySize];
        var values = new byte[batchSize * ks.ValueSize];
        long count = order.Length;
        long start = Stopwatch.GetTimestamp();
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
        return new Timed(count, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>Random puts to existing keys (uniform, with repetition, like db_bench overwrite).</summary>
    public static Timed Overwrite(IKvStore store, KeySpace ks, long count, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < count; i++)
        {
            KeySpace.WriteKey(random.NextInt64(ks.Num), key);
            store.Put(key, ks.Value(i + 7));
        }
        return new Timed(count, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    public static Timed ReadRandom(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        long start = Stopwatch.GetTimestamp();
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || Stopwatch.GetTimestamp() - start < limit))
        {
            long index = random.NextInt64(ks.Num);
            KeySpace.WriteKey(index, key);
            if (store.Get(key) != ks.ValueSize)
            {
                throw new InvalidOperationException($"readrandom: key {index} is missing or has the wrong length");
            }
            ops++;
        }
        return new Timed(ops, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    public static Timed ReadSeq(IKvStore store, KeySpace ks)
    {
        long start = Stopwatch.GetTimestamp();
        long seen = store.ScanAll();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (seen != ks.Num)
        {
            throw new InvalidOperationException($"readseq saw {seen} entries, expected {ks.Num}");
        }
        return new Timed(seen, seconds);
    }

    public static Timed SeekRandom(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed, int entries = 10)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        long start = Stopwatch.GetTimestamp();
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || Stopwatch.GetTimestamp() - start < limit))
        {
            long index = random.NextInt64(ks.Num);
            KeySpace.WriteKey(index, key);
            int read = store.SeekAndRead(key, entries);
            if (read != Math.Min(entries, ks.Num - index))
            {
                throw new InvalidOperationException($"seekrandom at {index} read {read} entries");
            }
            ops++;
        }
        return new Timed(ops, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>90% gets, 10% puts of existing keys, interleaved deterministically by the seed.</summary>
    public static Timed Mixed(IKvStore store, KeySpace ks, long maxOps, double maxSeconds, int seed)
    {
        var random = new Random(seed);
        Span<byte> key = stackalloc byte[KeySpace.KeySize];
        long limit = (long)(maxSeconds * Stopwatch.Frequency);
        long start = Stopwatch.GetTimestamp();
        long ops = 0;
        while (ops < maxOps && (ops % ClockEvery != 0 || Stopwatch.GetTimestamp() - start < limit))
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
        return new Timed(ops, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    public static Timed FlushAndCompact(IKvStore store, long entries)
    {
        long start = Stopwatch.GetTimestamp();
        store.FlushAndCompact();
        return new Timed(entries, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }
}
