using System.Text;
using System.Text.Json;

namespace Engine.Cli.Output;

/// <summary>
/// The <c>--json</c> output of every verb that prints data: JSON Lines on stdout, one object per line,
/// written through one buffered stream (Console.Out flushes on every write, too slow for large scans).
/// </summary>
/// <remarks>
/// Stored bytes (keys, values) are written as <c>"key"</c> (a JSON string) when they are valid UTF-8,
/// otherwise as <c>"key_b64"</c> (base64), never both: the shape <c>engine import --format jsonl</c>
/// reads, so <c>scan --json</c> output imports as is.
/// </remarks>
internal sealed class JsonLines : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _output;
    private readonly Utf8JsonWriter _writer;

    public JsonLines()
    {
        _output = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
        _writer = new Utf8JsonWriter(_output, new JsonWriterOptions { Indented = false });
    }

    /// <summary>Writes one object: <paramref name="fill"/> writes its properties.</summary>
    public void Write(Action<Utf8JsonWriter> fill)
    {
        _writer.WriteStartObject();
        fill(_writer);
        _writer.WriteEndObject();
        _writer.Flush();
        _writer.Reset();
        _output.WriteByte((byte)'\n');
    }

    /// <summary>
    /// Writes stored bytes as <c>name</c> (valid UTF-8) or <c>name_b64</c> (anything else), so that binary
    /// data survives the round trip and text stays readable.
    /// </summary>
    public static void WriteBytes(Utf8JsonWriter writer, string name, byte[] bytes)
    {
        string? text = TryUtf8(bytes);
        if (text is null)
        {
            writer.WriteBase64String(name + "_b64", bytes);
        }
        else
        {
            writer.WriteString(name, text);
        }
    }

    public void Dispose()
    {
        _writer.Dispose();
        _output.Flush();
        _output.Dispose();
    }

    private static string? TryUtf8(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
