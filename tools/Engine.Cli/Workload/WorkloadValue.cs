using System.Buffers.Text;
using System.Text;

namespace Engine.Cli.Workload;

/// <summary>
/// What the workload knows about one of its keys: the counter of the last acknowledged put, and the
/// highest counter of a later put whose outcome is unknown (it failed with an error other than
/// <see cref="StoreLockedException"/>, so it may or may not have been applied). -1 means none.
/// </summary>
internal readonly record struct KeyRecord(long Acked, long Uncertain)
{
    public static KeyRecord None { get; } = new(-1, -1);
}

/// <summary>How a value read back compares with what was acknowledged for its key.</summary>
internal enum Verdict
{
    /// <summary>The last acknowledged value, or a later one whose put had an unknown outcome.</summary>
    Ok,

    /// <summary>The key is absent although a put was acknowledged.</summary>
    Missing,

    /// <summary>An older value of this key: the last acknowledged put was lost.</summary>
    Stale,

    /// <summary>Bytes this workload never wrote to this key (other key, unknown counter, garbage).</summary>
    Wrong,
}

/// <summary>
/// Keys and values of the workload. A value is <c>KEY|COUNTER|</c> padded with dots: it names its key
/// (a value landing under another key is caught) and the counter of the put that wrote it (an older
/// value coming back is caught as a lost write rather than accepted as data).
/// </summary>
internal static class WorkloadValue
{
    /// <summary>Bytes per value: small, so the run measures the store's behaviour rather than memcpy.</summary>
    public const int Size = 100;

    private const byte Separator = (byte)'|';

    public static byte[] Key(string prefix, int index) => Encoding.ASCII.GetBytes($"{prefix}-{index:D8}");

    public static byte[] Encode(ReadOnlySpan<byte> key, long counter)
    {
        byte[] value = new byte[Math.Max(Size, key.Length + 22)];
        key.CopyTo(value);
        int at = key.Length;
        value[at++] = Separator;
        Utf8Formatter.TryFormat(counter, value.AsSpan(at), out int written);
        at += written;
        value[at++] = Separator;
        value.AsSpan(at).Fill((byte)'.');
        return value;
    }

    /// <summary>Compares a value read under <paramref name="key"/> with what the workload knows about it.</summary>
    public static Verdict Check(ReadOnlySpan<byte> key, byte[]? value, KeyRecord expected)
    {
        if (value is null)
        {
            return Verdict.Missing;
        }
        ReadOnlySpan<byte> rest = value;
        if (!rest.StartsWith(key) || rest.Length <= key.Length || rest[key.Length] != Separator)
        {
            return Verdict.Wrong;
        }
        rest = rest[(key.Length + 1)..];
        if (!Utf8Parser.TryParse(rest, out long counter, out int consumed) || consumed == 0
            || consumed >= rest.Length || rest[consumed] != Separator)
        {
            return Verdict.Wrong;
        }
        if (counter == expected.Acked || (counter > expected.Acked && counter <= expected.Uncertain))
        {
            return Verdict.Ok;
        }
        return counter < expected.Acked ? Verdict.Stale : Verdict.Wrong;
    }
}
