namespace Engine.Interop;

/// <summary>
/// The message-buffer convention of every fallible <c>ekv_*</c> function in one place: a buffer for
/// the plugin's message, the status check, and the typed error record taken on the same thread.
/// </summary>
internal static unsafe class NativeCall
{
    /// <summary>One native call, given the message buffer and its capacity; returns its <c>ekv_status</c>.</summary>
    public delegate int Body(byte* msg, uint msgCap);

    /// <summary>Runs <paramref name="body"/>; on failure <paramref name="error"/> holds the typed detail.</summary>
    /// <param name="path">The file the call is about, when the plugin's record names none.</param>
    /// <param name="body">The call.</param>
    /// <param name="error">The error (default on success).</param>
    public static NativeStatus Try(string? path, Body body, out NativeError error)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)body(msg, NativeMethods.MessageCapacity);
        error = default;
        if (status == NativeStatus.Ok)
        {
            return status;
        }
        // The record belongs to this failure only when it has the same status (the plugin records
        // the errors it raises itself; a status of the underlying file system has none).
        error = NativeErrors.TryTakeLast(out NativeError recorded) && recorded.Status == status
            ? recorded with { Path = recorded.Path ?? path }
            : new NativeError(status, NativeErrors.ReadMessage(msg), path, Offset: null);
        return status;
    }

    /// <summary>Runs <paramref name="body"/> and throws the engine's exception when it fails.</summary>
    /// <exception cref="IntegrityException">Authentication failed.</exception>
    /// <exception cref="KeyUnavailableException">A key could not be obtained.</exception>
    /// <exception cref="StoreInUseException">The store is held by another opener.</exception>
    /// <exception cref="EngineException">Any other plugin failure.</exception>
    public static void Check(string? path, Body body)
    {
        if (Try(path, body, out NativeError error) != NativeStatus.Ok)
        {
            throw error.ToException();
        }
    }
}
