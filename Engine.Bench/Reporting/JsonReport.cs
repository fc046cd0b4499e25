using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engine.Bench.Reporting;

/// <summary>results.json: snake_case field names (workloads[].systems[].ops_per_sec_median, ratio_to_plain, ...).</summary>
internal static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write(RunReport report, string path) =>
        File.WriteAllText(path, JsonSerializer.Serialize(report, Options) + "\n");

    /// <summary>A child process's measurements, handed to its parent runner.</summary>
    public static void WriteRecorder(Macro.Recorder recorder, string path) =>
        File.WriteAllText(path, JsonSerializer.Serialize(recorder, Options));

    public static Macro.Recorder ReadRecorder(string path) =>
        JsonSerializer.Deserialize<Macro.Recorder>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path} is empty");

    public static RunReport Read(string path) =>
        JsonSerializer.Deserialize<RunReport>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path} is empty");
}
