using System.Globalization;

namespace Engine.Bench.Macro;

/// <summary>Settings of the macro runner, parsed from <c>macro [--quick] [--num N] ...</c>.</summary>
internal sealed class MacroOptions
{
    public bool Quick { get; private set; }

    /// <summary>Entries written by the fill workloads (db_bench's --num).</summary>
    public long Num { get; private set; } = 1_000_000;

    public int ValueSize { get; private set; } = 100;

    /// <summary>Entries per write batch in fillrandom-batch.</summary>
    public int BatchSize { get; private set; } = 100;

    /// <summary>Most operations of a read or mixed workload (they also stop after <see cref="Seconds"/>).</summary>
    public long Reads { get; private set; } = -1;

    /// <summary>Time box of each read or mixed workload, so slow systems cannot stretch the run.</summary>
    public double Seconds { get; private set; } = 5;

    public int Rounds { get; private set; } = 3;

    /// <summary>Block cache of the warm phases: large enough to hold the whole compacted data set.</summary>
    public long WarmCacheBytes { get; private set; } = 256L << 20;

    /// <summary>Block cache after the reopen of readrandom-cold: 1 MiB, the engine's floor, far below the data size.</summary>
    public long ColdCacheBytes { get; private set; } = 1L << 20;

    public int FrameSize { get; private set; } = StoreOptions.DefaultFrameSize;

    /// <summary>Cap on the entries LiteDB is given (see IKvSystem.MaxEntries).</summary>
    public long LiteDbNum { get; private set; } = 100_000;

    public string OutDir { get; private set; } = Path.Combine("Engine.Bench", "results");

    public string? DataDir { get; private set; }

    public IReadOnlyList<string> Systems { get; private set; } = ["plain", "stock-ctr", "engine", "litedb"];

    public int Seed { get; private set; } = 20261123;

    public long ReadOps => Reads > 0 ? Reads : Num;

    public const string Usage =
        "macro [--quick] [--num N] [--value-size B] [--batch B] [--reads N] [--seconds S] [--rounds R]\n" +
        "      [--cache-mb M] [--frame-size B] [--litedb-num N] [--systems plain,stock-ctr,engine,litedb[,engine-env]]\n" +
        "      [--out DIR] [--data DIR]";

    public static MacroOptions Parse(IReadOnlyList<string> args)
    {
        var o = new MacroOptions();
        // --quick sets smaller defaults first; explicit flags after it still win.
        if (args.Contains("--quick"))
        {
            o.Quick = true;
            o.Num = 100_000;
            o.Seconds = 2;
            o.LiteDbNum = 10_000;
        }
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{a} needs a value.\n{Usage}");
            switch (a)
            {
                case "--quick": break;
                case "--num": o.Num = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--value-size": o.ValueSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": o.BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--reads": o.Reads = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seconds": o.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--cache-mb": o.WarmCacheBytes = long.Parse(Next(), CultureInfo.InvariantCulture) << 20; break;
                case "--frame-size": o.FrameSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--litedb-num": o.LiteDbNum = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--out": o.OutDir = Next(); break;
                case "--data": o.DataDir = Next(); break;
                case "--systems": o.Systems = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--seed": o.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option {a}.\n{Usage}");
            }
        }
        if (o.Num < 1000 || o.ValueSize < 1 || o.BatchSize < 1 || o.Rounds < 1 || o.Seconds <= 0)
        {
            throw new ArgumentException($"--num must be at least 1000; sizes, rounds and seconds must be positive.\n{Usage}");
        }
        return o;
    }
}
