using System.Globalization;

namespace Engine;

/// <summary>
/// Stored data failed authentication: a file, header, key envelope or the key registry was
/// altered, spliced from elsewhere, or is corrupt beyond what crash recovery explains. The
/// engine never returns such data; it throws this instead.
/// </summary>
/// <remarks>
/// <see cref="Path"/> names the file and <see cref="Offset"/>, when known, the byte offset of
/// the part that failed. This is not thrown for a missing key (see
/// <see cref="KeyUnavailableException"/>).
/// </remarks>
public sealed class IntegrityException : EngineException
{
    /// <summary>Creates an integrity error.</summary>
    /// <param name="message">What failed to authenticate.</param>
    /// <param name="path">The file that failed, if any; appended to the message when the
    /// message does not already name it.</param>
    /// <param name="offset">The byte offset within <paramref name="path"/>, if known.</param>
    /// <param name="inner">The underlying error (for example the
    /// <see cref="System.Security.Cryptography.AuthenticationTagMismatchException"/>).</param>
    public IntegrityException(string message, string? path = null, long? offset = null, Exception? inner = null)
        : base(Compose(message, path, offset), inner)
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>Creates an integrity error with a generic message.</summary>
    public IntegrityException()
        : this("stored data failed authentication")
    {
    }

    /// <summary>Creates an integrity error with the given message and cause.</summary>
    /// <param name="message">What failed to authenticate.</param>
    /// <param name="innerException">The underlying error.</param>
    public IntegrityException(string message, Exception innerException)
        : this(message, null, null, innerException)
    {
    }

    /// <summary>The file that failed authentication, or null when not file-specific.</summary>
    public string? Path { get; }

    /// <summary>The byte offset within <see cref="Path"/> that failed, or null when unknown.</summary>
    public long? Offset { get; }

    private static string Compose(string message, string? path, long? offset)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Messages from the native plugin already say "(file offset N)": do not repeat it.
        if (offset is not null && message.Contains(offset.Value.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            offset = null;
        }
        if (path is null || message.Contains(path, StringComparison.Ordinal))
        {
            return offset is null
                ? message
                : string.Create(CultureInfo.InvariantCulture, $"{message} (offset {offset})");
        }

        return offset is null
            ? $"{message} (file: {path})"
            : string.Create(CultureInfo.InvariantCulture, $"{message} (file: {path}, offset {offset})");
    }
}
