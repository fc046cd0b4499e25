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
    public double Seconds { get; private set; } = 2;

    /// <summary>
    /// Rounds of the whole workload set. Many short rounds (each system once per round, order
    /// alternating) give the paired per-round ratios a median and spread worth reading.
    /// </summary>
    public int Rounds { get; private set; } = 6;

    /// <summary>Threads of the mixed workload (each drives the same store with its own random stream).</summary>
    public int Threads { get; private set; } = 1;

    /// <summary>
    /// Namespaces the keys are spread over: key i goes to namespace i mod N (engine namespaces;
    /// column families with their own directories in plain and stock-ctr, so the comparison stays
    /// like for like). Above one, litedb and engine-env are left out (they have no namespaces here).
    /// </summary>
    public int Namespaces { get; private set; } = 1;

    /// <summary>Most namespaces --namespaces accepts: every one is a column family open for the whole run.</summary>
    public const int MaxNamespaces = 1000;

    /// <summary>
    /// Run each system's round in its own child process (the default), so each system's peak RSS
    /// (VmHWM) is its own; --in-process runs everything in this process and reports no RSS.
    /// </summary>
    public bool Isolate { get; private set; } = true;

    /// <summary>
    /// Workloads to run (null: all). fillrandom and flush-compact always run (and are reported):
    /// every read workload reads the store they build. For profiling a few workloads (e.g. under callgrind).
    /// </summary>
    public IReadOnlySet<string>? Only { get; private set; }

    public bool Runs(string workload) => Only is null || Only.Contains(workload);

    /// <summary>Set only in a child process: the one system, round and result file it runs for its parent.</summary>
    public string? ChildSystem { get; private set; }

    public int ChildRound { get; private set; }

    public string? ChildOut { get; private set; }

    /// <summary>Block cache of the warm phases: large enough to hold the whole compacted data set.</summary>
    public long WarmCacheBytes { get; private set; } = 256L << 20;

    /// <summary>Block cache after the reopen of readrandom-cold: 1 MiB, the engine's floor, far below the data size.</summary>
    public long ColdCacheBytes { get; private set; } = 1L << 20;

    public int FrameSize { get; private set; } = StoreOptions.DefaultFrameSize;

    /// <summary>Cap on the entries LiteDB is given (see IKvSystem.MaxEntries).</summary>
    public long LiteDbNum { get; private set; } = 100_000;

    public string OutDir { get; private set; } = Path.Combine("Engine.Bench", "results");

    public string? DataDir { get; private set; }

    public IReadOnlyList<string> Systems { get; private set; } = DefaultSystems;

    private static readonly string[] DefaultSystems = ["plain", "stock-ctr", "engine", "litedb"];

    /// <summary>Systems that can spread keys over several namespaces (column families).</summary>
    private static readonly string[] NamespacedSystems = ["plain", "stock-ctr", "engine"];

    public int Seed { get; private set; } = 20261123;

    public long ReadOps => Reads > 0 ? Reads : Num;

    public const string Usage =
        "macro [--quick] [--num N] [--value-size B] [--batch B] [--reads N] [--seconds S] [--rounds R]\n" +
        "      [--cache-mb M] [--frame-size B] [--litedb-num N] [--systems plain,stock-ctr,engine,litedb[,engine-env]]\n" +
        "      [--threads T] [--namespaces N] [--in-process] [--only W1,W2] [--out DIR] [--data DIR] [--seed S]\n" +
        "  --rounds R     rounds (default 6); every round runs each system once, order alternating\n" +
        "                 (A B C D, then D C B A, rotated by one every two rounds); ratios are paired by round\n" +
        "  --seconds S    time box of each read/mixed workload (default 2)\n" +
        "  --threads T    threads of the mixed 90/10 workload (default 1)\n" +
        "  --namespaces N spread the keys over N namespaces, key i in namespace i mod N (default 1);\n" +
        "                 plain and stock-ctr get N column families with their own directories; above 1\n" +
        "                 the systems are plain, stock-ctr and engine (litedb and engine-env are left out)\n" +
        "  --only W1,W2   run only these workloads (fillrandom + flush-compact always run); for profiling\n" +
        "  --in-process   run all systems in this process (default: one child process per system and\n" +
        "                 round, so each system's peak RSS, VmHWM, is measured on its own)\n" +
        "  Scale runs (issue 13; see Engine.Bench/README.md), each a separate invocation:\n" +
        "    --num 10000000                     10M keys x 100 B\n" +
        "    --num 1000000 --value-size 1024    1M keys x 1 KiB\n" +
        "    --threads 4                        4 threads of mixed reads and writes\n" +
        "    --namespaces 100                   a store with 100 namespaces\n" +
        "  (then: report-scale DIR1 DIR2 ... puts the runs side by side in Engine.Bench/results/scale.md)";

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
            o.Rounds = 2;
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
                case "--threads": o.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--namespaces": o.Namespaces = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--in-process": o.Isolate = false; break;
                case "--only": o.Only = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(); break;
                case "--child":
                    // NAME:ROUND:FILE, written by the parent runner; not for people.
                    string[] parts = Next().Split(':', 3);
                    o.ChildSystem = parts[0];
                    o.ChildRound = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    o.ChildOut = parts[2];
                    break;
                default: throw new ArgumentException($"Unknown option {a}.\n{Usage}");
            }
        }
        if (o.Num < 1000 || o.ValueSize < 1 || o.BatchSize < 1 || o.Rounds < 1 || o.Seconds <= 0 || o.Threads < 1)
        {
            throw new ArgumentException($"--num must be at least 1000; sizes, rounds, seconds and threads must be positive.\n{Usage}");
        }
        if (o.Namespaces < 1 || o.Namespaces > MaxNamespaces || o.Namespaces > o.Num)
        {
            throw new ArgumentException($"--namespaces must be between 1 and {MaxNamespaces} (and at most --num).\n{Usage}");
        }
        if (o.Namespaces > 1)
        {
            bool explicitSystems = !ReferenceEquals(o.Systems, DefaultSystems);
            if (!explicitSystems)
            {
                o.Systems = NamespacedSystems;
            }
            else if (o.Systems.FirstOrDefault(s => !NamespacedSystems.Contains(s)) is string other)
            {
                throw new ArgumentException($"--namespaces {o.Namespaces}: {other} has no namespaces in this runner; use {string.Join(',', NamespacedSystems)}.\n{Usage}");
            }
        }
        return o;
    }
}
