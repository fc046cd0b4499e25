namespace Engine;

/// <summary>
/// What a <see cref="StoreCursor"/> sees: a key range (bounds and/or a prefix) and a point in time (a
/// snapshot). The cursor copies the bounds when it opens, so the caller may reuse its arrays.
/// </summary>
public sealed class CursorOptions
{
    /// <summary>Smallest key the cursor shows (inclusive); null: no lower bound. Seeks below it land on it.</summary>
    public byte[]? LowerBound { get; set; }

    /// <summary>First key the cursor no longer shows (exclusive); null: no upper bound.</summary>
    public byte[]? UpperBound { get; set; }

    /// <summary>
    /// Show only keys starting with these bytes (intersected with the bounds); null or empty: every key.
    /// </summary>
    public byte[]? Prefix { get; set; }

    /// <summary>Read as of this snapshot (of the cursor's store); null: the latest data when the cursor opens.</summary>
    public StoreSnapshot? Snapshot { get; set; }

    /// <summary>The effective lower and upper bound: the tighter of the bounds and the prefix's range.</summary>
    /// <exception cref="ArgumentException">The lower bound is greater than the upper bound.</exception>
    internal (byte[]? Lower, byte[]? Upper) EffectiveBounds()
    {
        byte[]? lower = LowerBound is null ? null : (byte[])LowerBound.Clone();
        byte[]? upper = UpperBound is null ? null : (byte[])UpperBound.Clone();
        if (Prefix is { Length: > 0 } prefix)
        {
            if (lower is null || lower.AsSpan().SequenceCompareTo(prefix) < 0)
            {
                lower = (byte[])prefix.Clone();
            }
            // Every key starting with the prefix is below its successor; a prefix of 0xFF bytes only has
            // no successor, and then every key at or above it starts with it.
            byte[]? end = PrefixSuccessor(prefix);
            if (end is not null && (upper is null || upper.AsSpan().SequenceCompareTo(end) > 0))
            {
                upper = end;
            }
        }
        if (lower is not null && upper is not null && lower.AsSpan().SequenceCompareTo(upper) > 0)
        {
            if (Prefix is { Length: > 0 })
            {
                return (lower, lower); // the prefix lies outside the bounds: an empty range
            }
            throw new ArgumentException("Cursor bounds are reversed: LowerBound is greater than UpperBound.", nameof(LowerBound));
        }
        return (lower, upper);
    }

    /// <summary>The smallest key greater than every key starting with <paramref name="prefix"/>, or null.</summary>
    internal static byte[]? PrefixSuccessor(ReadOnlySpan<byte> prefix)
    {
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] != 0xFF)
            {
                byte[] end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }
        return null;
    }
}
