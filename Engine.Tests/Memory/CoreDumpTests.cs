using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Memory;

/// <summary>Runs only with <c>ENGINE_CORE_DUMP=1</c> (a core dump of a .NET process takes tens of seconds and hundreds of MB).</summary>
public sealed class CoreDumpFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless the variable opts in.</summary>
    public CoreDumpFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ENGINE_CORE_DUMP") != "1")
        {
            Skip = "set ENGINE_CORE_DUMP=1 (needs gcore from gdb, tools/bootstrap.sh installs it)";
        }
    }
}

/// <summary>
/// What stays in memory after a revocation lock: a child process plants known plaintext (canaries),
/// writes the keys it holds to a test-only file, is locked by revoking its key file, and is dumped
/// with <c>gcore</c>; the dump is searched for every key and every canary.
/// </summary>
public sealed class CoreDumpTests(ITestOutputHelper log)
{
    [CoreDumpFact]
    public void LockedProcessHoldsNoKeyAndTheMeasuredPlaintext()
    {
        using var dir = new TestStoreDirectory();
        byte[] seed = RandomNumberGenerator.GetBytes(16);
        string keysPath = Path.Combine(dir.Root, "held-keys.bin");
        byte[] cmek = File.ReadAllBytes(dir.KeyPath);
        using ChildProcess child = ChildProcess.StartInTests(typeof(CoreDumpChild), dir.StorePath, dir.CmekUri, Convert.ToHexString(seed), keysPath);
        Assert.NotNull(child.WaitForLine(l => l == "K", TimeSpan.FromMinutes(3)));
        File.Move(dir.KeyPath, dir.KeyPath + ".revoked"); // the CMEK is gone: the store must lock
        Assert.True(child.WaitForLine(l => l == "L", TimeSpan.FromMinutes(2)) is not null, "the child did not lock: " + child.Stderr);

        string corePrefix = Path.Combine(dir.Root, "core");
        using (var gcore = Process.Start(new ProcessStartInfo("gcore", ["-o", corePrefix, child.ProcessId.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!)
        {
            gcore.StandardOutput.ReadToEndAsync();
            string err = gcore.StandardError.ReadToEnd();
            Assert.True(gcore.WaitForExit(TimeSpan.FromMinutes(5)), "gcore did not finish");
            Assert.True(gcore.ExitCode == 0, "gcore failed: " + err);
        }
        child.Kill();
        string core = corePrefix + "." + child.ProcessId.ToString(CultureInfo.InvariantCulture);

        byte[] heldKeys = File.ReadAllBytes(keysPath);
        Assert.True(heldKeys.Length >= 2 * 32 && heldKeys.Length % 32 == 0, $"the child wrote {heldKeys.Length} key bytes");
        var keys = new List<(string Name, byte[] Bytes)> { ("CMEK (key file)", cmek) };
        for (int i = 0; i < heldKeys.Length / 32; i++)
        {
            keys.Add(($"held key {i}", heldKeys.AsSpan(i * 32, 32).ToArray()));
        }
        var canaries = new List<(CanaryClass Kind, byte[] Bytes)>();
        foreach (CanaryClass kind in Enum.GetValues<CanaryClass>())
        {
            for (int i = 0; i < Canaries.PerClass; i++)
            {
                canaries.Add((kind, Canaries.Derive(seed, kind, i)));
            }
        }

        long[] keyHits = new long[keys.Count];
        long[] canaryHits = new long[canaries.Count];
        long coreBytes = new FileInfo(core).Length;
        SearchFile(core, [.. keys.Select(k => k.Bytes), .. canaries.Select(c => c.Bytes)], keyHits, canaryHits);
        File.Delete(core);

        log.WriteLine($"core dump: {coreBytes / (1 << 20)} MiB, {keys.Count} keys searched");
        for (int i = 0; i < keys.Count; i++)
        {
            log.WriteLine($"  {keys[i].Name}: {keyHits[i]} hits");
        }
        foreach (CanaryClass kind in Enum.GetValues<CanaryClass>())
        {
            var ofKind = canaries.Select((c, i) => (c.Kind, Hits: canaryHits[i])).Where(c => c.Kind == kind).ToList();
            log.WriteLine($"  {Canaries.Describe(kind)}: {ofKind.Count(c => c.Hits > 0)} of {ofKind.Count} canaries found, {ofKind.Sum(c => c.Hits)} hits");
        }
        Assert.All(keyHits, h => Assert.Equal(0, h));
    }

    /// <summary>Counts the occurrences of every needle in the file (first <paramref name="keyHits"/>.Length needles are keys).</summary>
    private static void SearchFile(string path, byte[][] needles, long[] keyHits, long[] canaryHits)
    {
        int overlap = needles.Max(n => n.Length) - 1;
        var buffer = new byte[(16 << 20) + overlap];
        using FileStream stream = File.OpenRead(path);
        int carried = 0;
        while (true)
        {
            int read = stream.ReadAtLeast(buffer.AsSpan(carried, buffer.Length - carried), buffer.Length - carried, throwOnEndOfStream: false);
            int filled = carried + read;
            if (filled == 0)
            {
                break;
            }
            ReadOnlySpan<byte> window = buffer.AsSpan(0, filled);
            for (int n = 0; n < needles.Length; n++)
            {
                // A match must end after the carried overlap, so none is counted twice.
                int from = 0;
                while (true)
                {
                    int at = window[from..].IndexOf(needles[n]);
                    if (at < 0)
                    {
                        break;
                    }
                    int start = from + at;
                    if (start + needles[n].Length > carried)
                    {
                        if (n < keyHits.Length)
                        {
                            keyHits[n]++;
                        }
                        else
                        {
                            canaryHits[n - keyHits.Length]++;
                        }
                    }
                    from = start + 1;
                }
            }
            if (read == 0)
            {
                break;
            }
            carried = Math.Min(overlap, filled);
            buffer.AsSpan(filled - carried, carried).CopyTo(buffer);
        }
    }
}
