using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using RocksDbSharp;

namespace Engine.Interop;

/// <summary>
/// Maps plugin statuses and RocksDB error strings to the engine's exceptions. The plugin tags its
/// messages (<c>[ekv:integrity]</c>, <c>[ekv:key-unavailable]</c>) so the cause survives the trip
/// through RocksDB's <c>Status</c> string.
/// </summary>
internal static partial class NativeErrors
{
    internal const string IntegrityTag = "[ekv:integrity]";
    internal const string KeyUnavailableTag = "[ekv:key-unavailable]";

    public static unsafe string ReadMessage(byte* msg) => Marshal.PtrToStringUTF8((nint)msg) ?? string.Empty;

    public static EngineException ToException(NativeStatus status, string message, string? path) => status switch
    {
        // Keep the plugin's own sentence, without RocksDB's "Corruption: " prefix and the tag.
        NativeStatus.Integrity when message.Contains(IntegrityTag, StringComparison.Ordinal)
            => new IntegrityException(message[(message.IndexOf(IntegrityTag, StringComparison.Ordinal) + IntegrityTag.Length)..].Trim(), path ?? PathOf(message)),
        NativeStatus.Integrity or NativeStatus.TornTail => new IntegrityException(message, path ?? PathOf(message)),
        NativeStatus.KeyUnavailable => new KeyUnavailableException(message),
        NativeStatus.NotFound => new EngineException($"{path}: file not found. {message}"),
        _ => new EngineException(message),
    };

    /// <summary>Turns an error surfacing from RocksDB into the engine's exception for it.</summary>
    public static EngineException Translate(RocksDbException ex)
    {
        string message = ex.Message;
        int tag = message.IndexOf(IntegrityTag, StringComparison.Ordinal);
        if (tag >= 0)
        {
            // Keep the plugin's own sentence ("<path>: authentication failed for frame N (file
            // offset X)") without RocksDB's status prefix or the tag.
            string detail = message[(tag + IntegrityTag.Length)..].Trim();
            return new IntegrityException(detail, PathOf(message), OffsetOf(message), ex);
        }
        tag = message.IndexOf(KeyUnavailableTag, StringComparison.Ordinal);
        if (tag >= 0)
        {
            return new KeyUnavailableException(message[(tag + KeyUnavailableTag.Length)..].Trim(), ex);
        }
        if (message.StartsWith("Corruption", StringComparison.Ordinal))
        {
            // RocksDB's own checks fired after authentication passed: still never return data.
            return new IntegrityException(message, PathOf(message), null, ex);
        }
        if (message.Contains("While lock file", StringComparison.Ordinal))
        {
            return new EngineException($"The store is already open in another process or another EncryptedStore instance ({message}).", ex);
        }
        return new EngineException($"RocksDB error: {message}", ex);
    }

    private static string? PathOf(string message)
    {
        Match m = TaggedPath().Match(message);
        return m.Success ? m.Groups[1].Value : null;
    }

    private static long? OffsetOf(string message)
    {
        Match m = FileOffset().Match(message);
        return m.Success && long.TryParse(m.Groups[1].Value, out long v) ? v : null;
    }

    [GeneratedRegex(@"file offset (\d+)")]
    private static partial Regex FileOffset();

    [GeneratedRegex(@"\[ekv:[a-z-]+\] (\S+?):")]
    private static partial Regex TaggedPath();
}
