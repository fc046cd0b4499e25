using System.Runtime.InteropServices;
using RocksDbSharp;

namespace Engine.Interop;

/// <summary>The typed detail of a plugin error (<c>ekv_error_info</c>): what failed, in which file, where.</summary>
/// <param name="Status">The plugin's status code.</param>
/// <param name="Message">The plugin's sentence ("&lt;path&gt;: &lt;what&gt;"), or the call's message.</param>
/// <param name="Path">The file, when known.</param>
/// <param name="Offset">The failing frame's file offset, when one frame is to blame.</param>
internal readonly record struct NativeError(NativeStatus Status, string Message, string? Path, long? Offset)
{
    /// <summary>The engine's exception for this error (<see cref="NativeErrors.ToException(NativeError, Exception?)"/>).</summary>
    public EngineException ToException(Exception? inner = null) => NativeErrors.ToException(this, inner);
}

/// <summary>
/// The one place that maps plugin errors to the engine's exceptions. Nothing here reads message
/// text: the plugin records each error it raises, typed (status, path, offset), as the calling
/// thread's last error (<c>ekv_last_error_take</c>), and RocksDB errors without such a record map
/// by RocksDB's status code.
/// </summary>
internal static class NativeErrors
{
    public static unsafe string ReadMessage(byte* msg) => Marshal.PtrToStringUTF8((nint)msg) ?? string.Empty;

    /// <summary>Takes (and clears) the calling thread's recorded plugin error.</summary>
    public static unsafe bool TryTakeLast(out NativeError error) => TryTake(anyThread: false, out error);

    private static unsafe bool TryTake(bool anyThread, out NativeError error)
    {
        NativeErrorInfo info;
        if ((anyThread ? NativeMethods.LastErrorTakeAnyThread(&info) : NativeMethods.LastErrorTake(&info)) == 0)
        {
            error = default;
            return false;
        }
        string path = ReadMessage(info.Path);
        error = new NativeError(
            (NativeStatus)info.Code,
            ReadMessage(info.Message),
            path.Length > 0 ? path : null,
            info.HasOffset != 0 ? (long)info.Offset : null);
        return true;
    }

    /// <summary>Builds the engine's exception for a plugin status.</summary>
    public static EngineException ToException(NativeError error, Exception? inner = null) => error.Status switch
    {
        NativeStatus.Integrity or NativeStatus.TornTail => new IntegrityException(error.Message, error.Path, error.Offset, inner),
        NativeStatus.KeyUnavailable => new KeyUnavailableException(error.Message, inner),
        NativeStatus.InUse => new StoreInUseException(error.Message, error.Path, inner),
        NativeStatus.NotFound => new EngineException($"{error.Path}: file not found. {error.Message}", inner),
        _ => new EngineException(error.Message, inner),
    };

    /// <summary>Builds the engine's exception for a plugin status and message (no record).</summary>
    public static EngineException ToException(NativeStatus status, string message, string? path) =>
        ToException(new NativeError(status, message, path, Offset: null));

    /// <summary>
    /// Turns an error surfacing from RocksDB into the engine's exception for it. Call on the thread
    /// that made the failing RocksDB call, right after it failed: the plugin's record of its own
    /// failure is on that thread when RocksDB read there; when RocksDB met it on one of its own
    /// threads (table files opened in parallel at open, background flushes and compactions), the
    /// latest record of any thread stands for it.
    /// </summary>
    public static EngineException Translate(RocksDbException ex)
    {
        if (TryTakeLast(out NativeError error) || (IsPluginStatusCode(ex.Message) && TryTake(anyThread: true, out error)))
        {
            return ToException(error, ex);
        }
        return ex.Message.StartsWith("Corruption", StringComparison.Ordinal)
            // RocksDB's own checks fired after authentication passed: still never return data.
            ? new IntegrityException(ex.Message, null, null, ex)
            : new EngineException($"RocksDB error: {ex.Message}", ex);
    }

    /// <summary>
    /// The RocksDB status codes a plugin failure arrives as (Corruption for authentication, IOError
    /// for the rest): RocksDB's Status::ToString starts with the name of its code.
    /// </summary>
    private static bool IsPluginStatusCode(string message) =>
        message.StartsWith("Corruption", StringComparison.Ordinal) || message.StartsWith("IO error", StringComparison.Ordinal);
}
