using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Engine.Testing;

/// <summary>
/// The store's key order (bytewise, shorter first on a tie: the order of
/// <see cref="StoreNamespace.Scan(byte[], byte[])"/>) and content equality for byte arrays, for the
/// models of property tests (<c>new SortedDictionary&lt;byte[], byte[]&gt;(ByteArrayComparer.Instance)</c>).
/// </summary>
public sealed class ByteArrayComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    /// <summary>The one instance.</summary>
    public static ByteArrayComparer Instance { get; } = new();

    private ByteArrayComparer()
    {
    }

    /// <inheritdoc/>
    public int Compare(byte[]? x, byte[]? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1; // null first
        }
        return x.AsSpan().SequenceCompareTo(y);
    }

    /// <inheritdoc/>
    public bool Equals(byte[]? x, byte[]? y) => x is null || y is null ? x is null && y is null : x.AsSpan().SequenceEqual(y);

    /// <inheritdoc/>
    public int GetHashCode(byte[] obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return (int)XxHash32.HashToUInt32(obj);
    }
}

/// <summary>Short, readable renderings of keys and values for counterexamples and assertion messages.</summary>
public static class ByteDisplay
{
    /// <summary>
    /// Renders <paramref name="bytes"/> compactly: printable ASCII as text, other bytes as <c>\xHH</c>,
    /// runs of one byte as <c>ff*12</c>, long arrays by length and a fingerprint
    /// (<c>[1.0 MiB+5 #3fa2c1d0]</c>), the empty array as <c>""</c>.
    /// </summary>
    /// <param name="bytes">The bytes; null renders as <c>null</c>.</param>
    /// <param name="maxShown">Arrays longer than this are summarised.</param>
    /// <returns>The rendering.</returns>
    public static string Format(byte[]? bytes, int maxShown = 24)
    {
        if (bytes is null)
        {
            return "null";
        }
        if (bytes.Length == 0)
        {
            return "\"\"";
        }
        if (bytes.Length > maxShown)
        {
            return Summary(bytes);
        }
        var sb = new StringBuilder("\"");
        for (int i = 0; i < bytes.Length;)
        {
            int run = 1;
            while (i + run < bytes.Length && bytes[i + run] == bytes[i])
            {
                run++;
            }
            if (run >= 4)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{bytes[i]:x2}*{run}");
                i += run;
                continue;
            }
            byte b = bytes[i++];
            if (b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }
        return sb.Append('"').ToString();
    }

    private static string Summary(byte[] bytes)
    {
        uint hash = XxHash32.HashToUInt32(bytes);
        string size = bytes.Length >= 1 << 20
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes.Length >> 20} MiB+{bytes.Length & ((1 << 20) - 1)}")
            : bytes.Length >= 1 << 10
                ? string.Create(CultureInfo.InvariantCulture, $"{bytes.Length >> 10} KiB+{bytes.Length & ((1 << 10) - 1)}")
                : bytes.Length.ToString(CultureInfo.InvariantCulture) + " B";
        int prefix = 0;
        while (prefix < bytes.Length && prefix < 8 && bytes[prefix] == bytes[0])
        {
            prefix++;
        }
        string head = prefix == 8 ? string.Create(CultureInfo.InvariantCulture, $" \\x{bytes[0]:x2}...") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"[{size}{head} #{hash:x8}]");
    }
}
