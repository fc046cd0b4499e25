namespace Engine.Import;

/// <summary>Compresses blocks of spilled runs before they are encrypted (or stores them as they are).</summary>
internal interface IBlockCodec
{
    /// <summary>Largest encoded size of <paramref name="rawLength"/> bytes.</summary>
    int MaxEncodedLength(int rawLength);

    /// <summary>Encodes <paramref name="raw"/>; returns the encoded length, or -1 when it does not shrink enough to pay.</summary>
    int Encode(ReadOnlySpan<byte> raw, Span<byte> destination);

    /// <summary>Decodes exactly <c>raw.Length</c> bytes; false when the input is malformed.</summary>
    bool Decode(ReadOnlySpan<byte> encoded, Span<byte> raw);
}
