using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Engine.Cli.Commands;

/// <summary><c>keys status</c> (table or JSON) and the progress lines of verbs that wait for a re-wrap.</summary>
internal static class KeysStatusOutput
{
    public static Command Command()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var json = new Option<bool>("--json") { Description = "One JSON object on one line (JSON Lines, like every --json) instead of the table" };
        Option<bool> readOnly = CliOptions.ReadOnly();
        var command = new Command("status", "Per scope: KEK versions held, the current one, and the share of live files and bytes under each")
        {
            store, cmek, json, readOnly,
        }.WithHelpNote("""
            Read from the header of every live file (slot in force). Shares are of the files with a
            readable header; 'no key' counts 0-byte files (no header, no data). 'rotating' means the
            registry still holds older versions: their files are being re-wrapped, then they are retired.
            """);
        command.SetBody(parse =>
        {
            using EncryptedStore s = StoreAccess.OpenExisting(parse.GetRequiredValue(store), parse.GetValue(cmek), CliOptions.ReadOnlyIf(parse, readOnly));
            KeyStatusReport report = s.Keys.Status();
            Console.Write(parse.GetValue(json) ? Json(s.Path, report) : Table(s.Path, report));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// The table: one line per (scope, version), e.g.
    /// <c>gamma  3  2,3  rotating  2  4  40.0%  1048576  38.5%</c>.
    /// </summary>
    public static string Table(string path, KeyStatusReport report)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"store: {path}\nid:    {report.StoreId}\nepoch: {report.Epoch}\ncmek:  {report.CmekUri}\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"scope",-20} {"current",7} {"held",-9} {"state",-8} {"version",7} {"files",6} {"share",7} {"bytes",12} {"share",7}\n");
        foreach (ScopeKeyStatus scope in report.Scopes)
        {
            string held = string.Join(',', scope.RegistryVersions);
            string state = scope.RotationInProgress ? "rotating" : "ok";
            bool first = true;
            foreach (KekVersionUsage v in scope.Versions)
            {
                string version = v.InRegistry ? v.Version.ToString(CultureInfo.InvariantCulture) : $"{v.Version}!";
                sb.Append(first
                    ? string.Create(CultureInfo.InvariantCulture, $"{Truncate(scope.Name, 20),-20} {scope.CurrentVersion,7} {held,-9} {state,-8} ")
                    : new string(' ', 48));
                sb.Append(CultureInfo.InvariantCulture, $"{version,7} {v.Files,6} {Percent(v.FileShare),7} {v.Bytes,12} {Percent(v.ByteShare),7}\n");
                first = false;
            }

            if (scope.FilesWithoutKey > 0 || scope.UnreadableFiles > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{string.Empty,48}no key: {scope.FilesWithoutKey} file(s); unreadable header: {scope.UnreadableFiles} file(s)\n");
            }
        }

        if (report.Scopes.Any(s => s.Versions.Any(v => !v.InRegistry)))
        {
            sb.Append("\n!: a version the registry no longer holds; files under it cannot be opened\n");
        }

        return sb.ToString();
    }

    public static string Json(string path, KeyStatusReport report)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("store", path);
            w.WriteString("store_id", report.StoreId);
            w.WriteNumber("epoch", report.Epoch);
            w.WriteString("cmek", report.CmekUri);
            w.WriteStartArray("scopes");
            foreach (ScopeKeyStatus scope in report.Scopes)
            {
                w.WriteStartObject();
                w.WriteString("name", scope.Name);
                if (scope.NamespaceId is uint id)
                {
                    w.WriteNumber("namespaceId", id);
                }
                else
                {
                    w.WriteNull("namespaceId");
                }
                w.WriteNumber("currentVersion", scope.CurrentVersion);
                w.WriteStartArray("registryVersions");
                foreach (uint v in scope.RegistryVersions)
                {
                    w.WriteNumberValue(v);
                }
                w.WriteEndArray();
                w.WriteBoolean("rotationInProgress", scope.RotationInProgress);
                w.WriteNumber("files", scope.Files);
                w.WriteNumber("bytes", scope.Bytes);
                w.WriteNumber("filesWithoutKey", scope.FilesWithoutKey);
                w.WriteNumber("unreadableFiles", scope.UnreadableFiles);
                w.WriteStartArray("versions");
                foreach (KekVersionUsage v in scope.Versions)
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", v.Version);
                    w.WriteBoolean("inRegistry", v.InRegistry);
                    w.WriteNumber("files", v.Files);
                    w.WriteNumber("bytes", v.Bytes);
                    w.WriteNumber("fileShare", Math.Round(v.FileShare, 6));
                    w.WriteNumber("byteShare", Math.Round(v.ByteShare, 6));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Waits for <paramref name="done"/>, printing the re-wrap progress of <paramref name="scope"/> (or of all) every second.</summary>
    public static void WaitPrinting(EncryptedStore store, Task done, string? scope)
    {
        string last = string.Empty;
        while (!done.Wait(TimeSpan.FromSeconds(1)))
        {
            string line = Progress(store.Keys.Status(), scope);
            if (line != last)
            {
                Console.WriteLine(line);
                Console.Out.Flush();
                last = line;
            }
        }

        done.GetAwaiter().GetResult(); // rethrows ObjectDisposedException and the like
    }

    private static string Progress(KeyStatusReport report, string? scope)
    {
        IEnumerable<ScopeKeyStatus> scopes = report.Scopes.Where(s => s.RotationInProgress && (scope is null || s.Name == scope));
        return string.Join("; ", scopes.Select(s =>
        {
            KekVersionUsage? current = s.Versions.FirstOrDefault(v => v.Version == s.CurrentVersion);
            return string.Create(CultureInfo.InvariantCulture,
                $"{s.Name}: {current?.Files ?? 0}/{s.Files} files under version {s.CurrentVersion} ({Percent(current?.ByteShare ?? 0)} of bytes)");
        })) is { Length: > 0 } text ? "re-wrapping: " + text : "retiring older versions";
    }

    private static string Percent(double share) => (share * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Truncate(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
