using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Engine.Cli.Workload;

/// <summary>
/// The workload's stdout: one JSON object per line. The field names are a contract with scripts
/// (tools/rehearse-revocation.sh reads them): <c>t</c>, <c>state</c>, <c>ops</c>, <c>errors</c>,
/// <c>locked_errors</c> per second; <c>summary</c>, <c>acknowledged</c>, <c>verified</c>, <c>missing</c>,
/// <c>wrong</c>, <c>locked_seconds</c>, <c>transitions</c> at the end. Other fields are extras.
/// </summary>
internal static class WorkloadJson
{
    // Relaxed escaping: these lines go to terminals and scripts, not into HTML, and reasons read
    // better with their quotes and plus signs intact (JSON-significant characters are still escaped).
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One per-second line; counts are for that second only.</summary>
    public static string Second(int t, StoreState state, long ops, long errors, long lockedErrors, string phase, DateTimeOffset now) =>
        Write(json =>
        {
            json.WriteNumber("t", t);
            json.WriteString("state", state.ToString());
            json.WriteNumber("ops", ops);
            json.WriteNumber("errors", errors);
            json.WriteNumber("locked_errors", lockedErrors);
            json.WriteString("phase", phase);
            json.WriteNumber("unix", UnixSeconds(now));
        });

    public static string Summary(WorkloadOutcome outcome) =>
        Write(json =>
        {
            VerifyTally v = outcome.Verification;
            json.WriteBoolean("summary", true);
            json.WriteNumber("acknowledged", v.Acknowledged);
            json.WriteNumber("verified", v.Verified);
            json.WriteNumber("missing", v.Missing);
            json.WriteNumber("wrong", v.Wrong);
            json.WriteNumber("locked_seconds", Math.Round(outcome.LockedSeconds, 3));
            json.WriteStartArray("transitions");
            foreach (Transition change in outcome.Transitions)
            {
                json.WriteStartObject();
                json.WriteNumber("t", Math.Round(change.T, 3));
                json.WriteNumber("unix", UnixSeconds(change.At));
                json.WriteString("from", change.From.ToString());
                json.WriteString("to", change.To.ToString());
                json.WriteString("reason", change.Reason);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("result", outcome.Result);
            json.WriteNumber("exit_code", outcome.ExitCode);
            json.WriteString("final_state", outcome.FinalState.ToString());
            json.WriteNumber("stale", v.Stale);
            json.WriteNumber("unreadable", v.Unreadable);
            json.WriteNumber("unchecked", v.Unchecked);
            json.WriteNumber("acknowledged_writes", outcome.AckedWrites);
            json.WriteNumber("read_missing", outcome.ReadMissing);
            json.WriteNumber("read_wrong", outcome.ReadWrong);
            json.WriteNumber("ops", outcome.Ops);
            json.WriteNumber("errors", outcome.Errors);
            json.WriteNumber("locked_errors", outcome.LockedErrors);
            json.WriteNumber("load_seconds", Math.Round(outcome.LoadSeconds, 3));
            json.WriteBoolean("interrupted", outcome.Interrupted);
            if (outcome.FirstError is not null)
            {
                json.WriteString("first_error", outcome.FirstError);
            }
            if (v.FirstProblem is not null)
            {
                json.WriteString("first_problem", v.FirstProblem);
            }
        });

    private static double UnixSeconds(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / 1000.0;

    private static string Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
