using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Engine.Cli.Output;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine import</c>: bulk-loads a CSV or JSON-lines file into a namespace through
/// <see cref="StoreNamespace.BulkImport(IEnumerable{KeyValuePair{byte[], byte[]}}, BulkImportOptions?, IProgress{BulkImportProgress}?, CancellationToken)"/>:
/// atomic (all of the file or nothing), any key order, larger than memory.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        Option<string> ns = CliOptions.Namespace();
        var file = new Argument<string>("FILE") { Description = "Input file, or - for standard input" };
        var format = new Option<string?>("--format") { Description = "csv or jsonl (default: from the file extension)", HelpName = "csv|jsonl" };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var memory = new Option<int?>("--memory-mb") { Description = "Memory budget for sorting, in MiB (default 64); more is spilled to encrypted temp files", HelpName = "M" };
        var header = new Option<bool>("--header") { Description = "CSV: the first record is a header; skip it" };
        var command = new Command("import", "Bulk-load key/value pairs from CSV or JSON lines into a namespace, atomically")
        {
            store, cmek, ns, file, format, memory, header,
        }.WithHelpNote(Help);
        command.SetBody(parse =>
        {
            string path = parse.GetRequiredValue(file);
            bool jsonl = ResolveFormat(path, parse.GetValue(format)) == "jsonl";
            int mb = parse.GetValue(memory) ?? (int)(BulkImportOptions.DefaultMemoryBudgetBytes >> 20);
            if (mb is < 1 or > 1024)
            {
                throw new UsageException($"--memory-mb must be from 1 to 1024 (got {mb})");
            }
            if (jsonl && parse.GetValue(header))
            {
                throw new UsageException("--header applies to CSV input only");
            }
            if (path != "-" && !File.Exists(path))
            {
                throw new UsageException($"no input file at {Path.GetFullPath(path)}");
            }
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek));
            StoreNamespace space = s.GetNamespace(parse.GetRequiredValue(ns));
            using Stream input = path == "-" ? Console.OpenStandardInput() : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var reader = new InputReader(input, path == "-" ? "stdin" : path);
            IEnumerable<KeyValuePair<byte[], byte[]>> entries = jsonl ? reader.JsonLines() : reader.Csv(parse.GetValue(header));
            using var signal = new TerminationSignal();
            BulkImportResult result;
            try
            {
                long? inputBytes = input.CanSeek ? input.Length : null;
                result = ProgressDisplay.Run("import", sink =>
                    space.BulkImport(entries, new BulkImportOptions { MemoryBudgetBytes = (long)mb << 20 }, new SinkProgress(sink, inputBytes), signal.Token));
            }
            catch (ArgumentException ex) when (ex is not ArgumentOutOfRangeException)
            {
                // The engine names the entry's index; the reader knows its line.
                throw new UsageException($"{reader.Where}: {ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal)}", ex);
            }
            catch (OperationCanceledException) when (signal.Received is not null)
            {
                ErrorReporter.Fail($"import stopped by {signal.Received}: nothing was imported");
                return ExitCodes.IoError;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"imported {result.KeysImported} keys into namespace '{space.Name}' ({result.EntriesRead} entries read, {result.DuplicatesDropped} duplicates dropped) in {result.Elapsed.TotalSeconds:0.0} s: " +
                $"{result.RunsSpilled} runs spilled ({result.SpillBytes / 1e6:0.0} MB), {result.MergePasses} merge passes, {result.SstFiles} SST files ({result.SstBytes / 1e6:0.0} MB)"));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string ResolveFormat(string path, string? format)
    {
        if (format is not null)
        {
            return format;
        }
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".csv" => "csv",
            ".jsonl" or ".ndjson" or ".json" => "jsonl",
            _ => throw new UsageException($"cannot tell the format of '{path}' from its name: give --format csv or --format jsonl"),
        };
    }

    private const string Help = """
        Input:
          csv    one key,value record per line, RFC 4180: fields containing a comma, a quote or a line
                 break are enclosed in double quotes, a quote inside them is doubled. UTF-8. Blank lines
                 are skipped; --header skips the first record.
          jsonl  one object per line: {"key":"...","value":"..."}; "key_b64"/"value_b64" instead take
                 base64 for binary data. Blank lines are skipped; other properties are an error.
        Keys may come in any order; for a key given several times the last one wins. Nothing is visible
        until the whole file has been read and ingested in one step; Ctrl-C (or an error) imports nothing.
        Existing keys not in the file are kept; keys in it get the file's value.
        Progress goes to stderr (a bar on a terminal, otherwise a line a second), the summary line to stdout.
        Exit codes:
          0  imported
          2  bad usage, not a store, or malformed input (the message names the file and line)
          3  stored or temp data failed authentication
          4  the key is unavailable, or the store locked during the import (nothing imported)
          5  other errors, or stopped by a signal (nothing imported)
          7  the store is in use by another process (nothing imported)
        Errors are one line on stderr: engine: <message>
        """;

    /// <summary>Hands the import's progress to the display: the phase and its counts, and the share of the input read while reading.</summary>
    private sealed class SinkProgress(ProgressSink sink, long? inputBytes) : IProgress<BulkImportProgress>
    {
        public void Report(BulkImportProgress p)
        {
            string detail = p.Phase switch
            {
                BulkImportPhase.Reading or BulkImportPhase.Spilling => $"{p.EntriesRead} entries ({p.BytesRead / 1e6:0.0} MB), {p.RunsSpilled} runs spilled ({p.SpillBytes / 1e6:0.0} MB)",
                BulkImportPhase.Merging => $"{p.RunsSpilled} runs, {p.SpillBytes / 1e6:0.0} MB spilled so far",
                BulkImportPhase.WritingSsts => $"{p.EntriesWritten} keys, {p.SstFiles} SST files ({p.SstBytes / 1e6:0.0} MB)",
                BulkImportPhase.Ingesting => $"{p.SstFiles} SST files, {p.EntriesWritten} keys",
                _ => $"{p.EntriesWritten} keys",
            };
            // Only reading has a known end (the input's size); the other phases show as running.
            double? share = p.Phase is BulkImportPhase.Reading or BulkImportPhase.Spilling && inputBytes is > 0
                ? (double)p.BytesRead / inputBytes.Value
                : null;
            sink.Report(string.Create(CultureInfo.InvariantCulture, $"{PhaseName(p.Phase)}: {detail}"), share);
        }

        private static string PhaseName(BulkImportPhase phase) => phase switch
        {
            BulkImportPhase.Reading => "reading",
            BulkImportPhase.Spilling => "spilling",
            BulkImportPhase.Merging => "merging",
            BulkImportPhase.WritingSsts => "writing SSTs",
            BulkImportPhase.Ingesting => "ingesting",
            _ => "done",
        };
    }

    /// <summary>Byte-level readers of the two formats (UTF-8 text stays bytes: no decode and re-encode).</summary>
    private sealed class InputReader(Stream stream, string name)
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _position;
        private int _length;
        private long _line = 1;
        private long _recordLine = 1;

        /// <summary>"file:line" of the record read last.</summary>
        public string Where => string.Create(CultureInfo.InvariantCulture, $"{name}:{_recordLine}");

        public IEnumerable<KeyValuePair<byte[], byte[]>> Csv(bool skipHeader)
        {
            SkipBom();
            var fields = new List<byte[]>(2);
            var field = new MemoryStream();
            bool first = true;
            while (ReadCsvRecord(fields, field))
            {
                if (fields.Count == 1 && fields[0].Length == 0)
                {
                    continue; // blank line
                }
                if (first && skipHeader)
                {
                    first = false;
                    continue;
                }
                first = false;
                if (fields.Count != 2)
                {
                    throw Malformed($"expected 2 fields (key,value), found {fields.Count}");
                }
                yield return new(fields[0], fields[1]);
            }
        }

        /// <summary>Reads one RFC 4180 record into <paramref name="fields"/>; false at end of input.</summary>
        private bool ReadCsvRecord(List<byte[]> fields, MemoryStream field)
        {
            fields.Clear();
            _recordLine = _line;
            if (Peek() < 0)
            {
                return false;
            }
            while (true)
            {
                field.SetLength(0);
                int b = Read();
                if (b == '"')
                {
                    while (true)
                    {
                        b = Read();
                        if (b < 0)
                        {
                            throw Malformed("a quoted field is not closed before the end of the input");
                        }
                        if (b == '"' && Peek() != '"')
                        {
                            break;
                        }
                        field.WriteByte((byte)(b == '"' ? Read() : b));
                    }
                    b = Read();
                    if (b == '\r' && Peek() == '\n')
                    {
                        b = Read();
                    }
                    if (b is not (',' or '\n' or -1))
                    {
                        throw Malformed("a closing quote must be followed by a comma or the end of the line");
                    }
                }
                else
                {
                    while (b is not (',' or '\n' or -1) && !(b == '\r' && Peek() == '\n'))
                    {
                        if (b == '"')
                        {
                            throw Malformed("a quote inside an unquoted field (enclose the field in quotes and double the quote)");
                        }
                        field.WriteByte((byte)b);
                        b = Read();
                    }
                    if (b == '\r')
                    {
                        b = Read();
                    }
                }
                fields.Add(Utf8Field(field));
                if (b != ',')
                {
                    return true;
                }
            }
        }

        public IEnumerable<KeyValuePair<byte[], byte[]>> JsonLines()
        {
            SkipBom();
            var line = new MemoryStream();
            while (ReadLine(line))
            {
                if (ParseJsonLine(line) is KeyValuePair<byte[], byte[]> entry)
                {
                    yield return entry;
                }
            }
        }

        /// <summary>Parses one line; null for a blank one.</summary>
        private KeyValuePair<byte[], byte[]>? ParseJsonLine(MemoryStream line)
        {
            ReadOnlySpan<byte> text = line.GetBuffer().AsSpan(0, (int)line.Length);
            if (text.Trim(" \t\r"u8).IsEmpty)
            {
                return null;
            }
            try
            {
                return ParseJsonObject(text);
            }
            catch (JsonException ex)
            {
                throw Malformed($"invalid JSON: {ex.Message}");
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                throw Malformed(ex.Message);
            }
        }

        private KeyValuePair<byte[], byte[]> ParseJsonObject(ReadOnlySpan<byte> text)
        {
            var json = new Utf8JsonReader(text);
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                throw Malformed("expected a JSON object");
            }
            byte[]? key = null;
            byte[]? value = null;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                string property = json.GetString()!;
                if (!json.Read() || json.TokenType != JsonTokenType.String)
                {
                    throw Malformed($"\"{property}\" must be a string");
                }
                bool isKey = property is "key" or "key_b64";
                if (!isKey && property is not ("value" or "value_b64"))
                {
                    throw Malformed($"unexpected property \"{property}\" (expected key or key_b64, value or value_b64)");
                }
                if ((isKey ? key : value) is not null)
                {
                    throw Malformed($"the {(isKey ? "key" : "value")} is given twice");
                }
                byte[] bytes = property.EndsWith("_b64", StringComparison.Ordinal)
                    ? (json.TryGetBytesFromBase64(out byte[]? decoded) ? decoded : throw Malformed($"\"{property}\" is not valid base64"))
                    : JsonString(ref json);
                if (isKey)
                {
                    key = bytes;
                }
                else
                {
                    value = bytes;
                }
            }
            if (json.TokenType != JsonTokenType.EndObject || json.Read())
            {
                throw Malformed("expected exactly one JSON object on the line");
            }
            return new(key ?? throw Malformed("missing \"key\" (or \"key_b64\")"), value ?? throw Malformed("missing \"value\" (or \"value_b64\")"));
        }

        private static byte[] JsonString(ref Utf8JsonReader json)
        {
            byte[] target = new byte[json.HasValueSequence ? json.ValueSequence.Length : json.ValueSpan.Length];
            int n = json.CopyString(target); // unescapes; throws on a lone surrogate escape
            return n == target.Length ? target : target[..n];
        }

        private bool ReadLine(MemoryStream line)
        {
            line.SetLength(0);
            _recordLine = _line;
            int b = Read();
            if (b < 0)
            {
                return false;
            }
            for (; b >= 0 && b != '\n'; b = Read())
            {
                line.WriteByte((byte)b);
            }
            return true;
        }

        private byte[] Utf8Field(MemoryStream field)
        {
            byte[] bytes = field.ToArray();
            return Utf8.IsValid(bytes) ? bytes : throw Malformed("a field is not valid UTF-8");
        }

        private void SkipBom()
        {
            if (Peek() == 0xEF && Fill(3) && _buffer.AsSpan(_position, 3).SequenceEqual("\uFEFF"u8))
            {
                _position += 3;
            }
        }

        private int Peek() => _position < _length || Fill(1) ? _buffer[_position] : -1;

        private int Read()
        {
            int b = Peek();
            if (b >= 0)
            {
                _position++;
                if (b == '\n')
                {
                    _line++;
                }
            }
            return b;
        }

        /// <summary>Makes at least <paramref name="count"/> bytes available unless the input ends first.</summary>
        private bool Fill(int count)
        {
            if (_length - _position >= count)
            {
                return true;
            }
            _buffer.AsSpan(_position, _length - _position).CopyTo(_buffer);
            _length -= _position;
            _position = 0;
            while (_length < count)
            {
                int n = stream.Read(_buffer, _length, _buffer.Length - _length);
                if (n == 0)
                {
                    return false;
                }
                _length += n;
            }
            return true;
        }

        private UsageException Malformed(string problem) => new($"{Where}: {problem}");
    }
}
