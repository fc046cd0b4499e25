using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using Engine.Crypto;

namespace Engine.Bench.Moves;

/// <summary>
/// <c>ns-move</c>: time to move an N-key namespace to another store (export + import: ciphertext copied,
/// headers re-wrapped) against a full scan-and-put copy into that store (batched puts, then a flush so
/// the copy is in SSTs as the move's is). Both results are checked against the source (count and an
/// XxHash3 over every key and value). Prints a Markdown table.
/// </summary>
internal static class NsMoveBench
{
    public const string Usage = "ns-move [--keys N] [--value-bytes B] [--runs R] [--dir DIR]   namespace move vs scan-and-put copy";

    public static int Run(string[] args)
    {
        long keys = 1_000_000;
        int valueBytes = 100;
        int runs = 3;
        string? root = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--keys": keys = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--value-bytes": valueBytes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": root = args[++i]; break;
                default:
                    Console.Error.WriteLine("unknown argument " + args[i] + "; usage: " + Usage);
                    return 2;
            }
        }
        root ??= Directory.CreateTempSubdirectory("ekv-nsmove-bench-").FullName;
        Directory.CreateDirectory(root);
        try
        {
            return Measure(root, keys, valueBytes, runs);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static int Measure(string root, long keys, int valueBytes, int runs)
    {
        string sourceKey = Path.Combine(root, "source.key");
        string targetKey = Path.Combine(root, "target.key");
        LocalKeyFileCmek.Create(sourceKey).Dispose();
        LocalKeyFileCmek.Create(targetKey).Dispose();
        using EncryptedStore source = EncryptedStore.Open(new StoreOptions { Path = Path.Combine(root, "source"), CmekUri = "file:" + sourceKey });
        using EncryptedStore target = EncryptedStore.Open(new StoreOptions { Path = Path.Combine(root, "target"), CmekUri = "file:" + targetKey });

        var load = Stopwatch.StartNew();
        StoreNamespace ns = source.GetNamespace("bench");
        byte[] value = new byte[valueBytes];
        var rng = new Random(42);
        for (long i = 0; i < keys;)
        {
            using StoreWriteBatch batch = source.CreateWriteBatch();
            for (int j = 0; j < 10_000 && i < keys; j++, i++)
            {
                rng.NextBytes(value);
                batch.Put(ns, System.Text.Encoding.ASCII.GetBytes(i.ToString("D12", CultureInfo.InvariantCulture)), value);
            }
            source.Write(batch, sync: false);
        }
        source.Flush();
        load.Stop();
        (long count, ulong hash) expected = Digest(ns);
        Console.Error.WriteLine($"loaded {keys} keys in {load.Elapsed.TotalSeconds:0.0} s");

        var moves = new List<(double Export, double Import)>();
        long files = 0, bytes = 0;
        for (int r = 0; r < runs; r++)
        {
            string dir = Path.Combine(root, "export-" + r.ToString(CultureInfo.InvariantCulture));
            string name = "moved-" + r.ToString(CultureInfo.InvariantCulture);
            NamespaceExportResult e = source.ExportNamespaceAsync("bench", dir, "file:" + targetKey).GetAwaiter().GetResult();
            var phases = new List<string>();
            var phaseClock = Stopwatch.StartNew();
            Engine.Moves.NamespaceImporter.FaultPoint = point => phases.Add(string.Create(CultureInfo.InvariantCulture, $"{point} {phaseClock.Elapsed.TotalSeconds:0.000}"));
            NamespaceImportResult i = target.ImportNamespaceAsync(dir, name).GetAwaiter().GetResult();
            Engine.Moves.NamespaceImporter.FaultPoint = null;
            Console.Error.WriteLine("  import phases (s since start): " + string.Join(", ", phases) + string.Create(CultureInfo.InvariantCulture, $", committed {phaseClock.Elapsed.TotalSeconds:0.000}"));
            moves.Add((e.Elapsed.TotalSeconds, i.Elapsed.TotalSeconds));
            files = e.FileCount;
            bytes = e.Bytes;
            Check(expected, Digest(target.GetNamespace(name)), "move " + r.ToString(CultureInfo.InvariantCulture));
            target.DeleteNamespace(name);
            Directory.Delete(dir, recursive: true);
            Console.Error.WriteLine($"move {r}: export {e.Elapsed.TotalSeconds:0.000} s, import {i.Elapsed.TotalSeconds:0.000} s");
        }

        var copies = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            string name = "copied-" + r.ToString(CultureInfo.InvariantCulture);
            var copy = Stopwatch.StartNew();
            StoreNamespace into = target.GetNamespace(name);
            StoreWriteBatch batch = target.CreateWriteBatch();
            foreach (KeyValuePair<byte[], byte[]> kv in ns.Scan((byte[]?)null, null))
            {
                batch.Put(into, kv.Key, kv.Value);
                if (batch.Count == 10_000)
                {
                    target.Write(batch, sync: false);
                    batch.Dispose();
                    batch = target.CreateWriteBatch();
                }
            }
            target.Write(batch, sync: false);
            batch.Dispose();
            target.Flush();
            copy.Stop();
            copies.Add(copy.Elapsed.TotalSeconds);
            Check(expected, Digest(into), "copy " + r.ToString(CultureInfo.InvariantCulture));
            target.DeleteNamespace(name);
            Console.Error.WriteLine($"copy {r}: {copy.Elapsed.TotalSeconds:0.000} s");
        }

        double moveMedian = Median(moves.Select(m => m.Export + m.Import));
        double copyMedian = Median(copies);
        Console.WriteLine($"| keys | value bytes | SST files | SST MB | export s (median) | import s (median) | move s (median) | scan-and-put copy s (median) | copy / move |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {keys} | {valueBytes} | {files} | {bytes / 1e6:0.0} | {Median(moves.Select(m => m.Export)):0.000} | {Median(moves.Select(m => m.Import)):0.000} | {moveMedian:0.000} | {copyMedian:0.000} | {copyMedian / moveMedian:0.0}x |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"runs: {runs}; move runs (export+import s): {string.Join(", ", moves.Select(m => (m.Export + m.Import).ToString("0.000", CultureInfo.InvariantCulture)))}; copy runs s: {string.Join(", ", copies.Select(c => c.ToString("0.000", CultureInfo.InvariantCulture)))}; load {load.Elapsed.TotalSeconds:0.0} s"));
        return 0;
    }

    private static (long Count, ulong Hash) Digest(StoreNamespace ns)
    {
        var hash = new XxHash3();
        long count = 0;
        foreach (KeyValuePair<byte[], byte[]> kv in ns.Scan((byte[]?)null, null))
        {
            hash.Append(kv.Key);
            hash.Append(kv.Value);
            count++;
        }
        return (count, hash.GetCurrentHashAsUInt64());
    }

    private static void Check((long Count, ulong Hash) expected, (long Count, ulong Hash) actual, string what)
    {
        if (expected != actual)
        {
            throw new InvalidOperationException($"{what}: {actual.Count} keys (hash {actual.Hash:x16}), expected {expected.Count} (hash {expected.Hash:x16})");
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }
}
