using System.Security.Cryptography;
using System.Text;

namespace Engine.Tests.Memory;

/// <summary>The classes of known plaintext the core-dump test plants and looks for.</summary>
internal enum CanaryClass
{
    /// <summary>Values written (synced) after the last flush: only in the memtable and the WAL.</summary>
    WalValue,

    /// <summary>Values flushed to an SST, then read back through the block cache.</summary>
    SstValue,

    /// <summary>The common prefix of keys flushed to an SST (in data and index blocks).</summary>
    SstKey,
}

/// <summary>
/// Canaries derived from a seed, so the test process and the child compute the same bytes without
/// passing them around (argv, pipes and strings would leave copies the engine did not make).
/// </summary>
internal static class Canaries
{
    public const int PerClass = 8;

    private const int DigestHexBytes = 32;

    /// <summary>Canary <paramref name="index"/> of <paramref name="kind"/>: "EKVCANARY-&lt;class&gt;-&lt;32 hex&gt;", as bytes, no string made.</summary>
    public static byte[] Derive(ReadOnlySpan<byte> seed, CanaryClass kind, int index)
    {
        Span<byte> input = stackalloc byte[seed.Length + 8];
        seed.CopyTo(input);
        BitConverter.TryWriteBytes(input[seed.Length..], (int)kind);
        BitConverter.TryWriteBytes(input[(seed.Length + 4)..], index);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        byte[] prefix = Prefix(kind);
        var canary = new byte[prefix.Length + DigestHexBytes];
        prefix.CopyTo(canary, 0);
        for (int i = 0; i < DigestHexBytes / 2; i++)
        {
            canary[prefix.Length + (2 * i)] = Hex(digest[i] >> 4);
            canary[prefix.Length + (2 * i) + 1] = Hex(digest[i] & 0xF);
        }
        CryptographicOperations.ZeroMemory(digest);
        return canary;
    }

    private static byte[] Prefix(CanaryClass kind) => kind switch
    {
        CanaryClass.WalValue => "EKVCANARY-W-"u8.ToArray(),
        CanaryClass.SstValue => "EKVCANARY-V-"u8.ToArray(),
        _ => "EKVCANARY-K-"u8.ToArray(),
    };

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    /// <summary>For messages only (never the canary bytes themselves in the child).</summary>
    public static string Describe(CanaryClass kind) => kind switch
    {
        CanaryClass.WalValue => "values only in the WAL/memtable",
        CanaryClass.SstValue => "values in SSTs read through the block cache",
        _ => "keys in SSTs (data and index blocks)",
    };

    public static string Ascii(byte[] bytes) => Encoding.ASCII.GetString(bytes);
}
