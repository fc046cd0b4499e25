using System.Buffers;
using System.Globalization;
using System.Text;

namespace Engine.Cli.Output;

/// <summary>
/// Renders stored bytes as one line of text: valid printable UTF-8 as is, everything else escaped
/// (<c>\t</c>, <c>\n</c>, <c>\\</c>, <c>\xNN</c>), so that a binary value cannot break the
/// <c>key\tvalue</c> line format or drive the terminal.
/// </summary>
internal static class ByteText
{
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            OperationStatus status = Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed);
            if (status != OperationStatus.Done)
            {
                // Invalid or truncated UTF-8: show each offending byte.
                AppendHex(sb, bytes[0]);
                bytes = bytes[1..];
                continue;
            }
            Append(sb, rune, bytes[..consumed]);
            bytes = bytes[consumed..];
        }
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, Rune rune, ReadOnlySpan<byte> encoded)
    {
        switch (rune.Value)
        {
            case '\\':
                sb.Append(@"\\");
                return;
            case '\t':
                sb.Append(@"\t");
                return;
            case '\n':
                sb.Append(@"\n");
                return;
            case '\r':
                sb.Append(@"\r");
                return;
        }
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
        {
            foreach (byte b in encoded)
            {
                AppendHex(sb, b);
            }
            return;
        }
        sb.Append(rune.ToString());
    }

    private static void AppendHex(StringBuilder sb, byte b) =>
        sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
}
