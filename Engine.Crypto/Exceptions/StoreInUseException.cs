namespace Engine;

/// <summary>
/// The store is already open, in another process or by another store instance of this process: its
/// exclusive lock is held. Thrown by opening before anything in
/// the store directory was deleted or written, so the holder's work (temp files, import staging) is
/// untouched. Retry after the other opener closed the store.
/// </summary>
public sealed class StoreInUseException : EngineException
{
    /// <summary>Creates a store-in-use error.</summary>
    /// <param name="message">Which store is held (its directory), never key material.</param>
    /// <param name="path">The store directory.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public StoreInUseException(string message, string? path, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
    }

    /// <summary>Creates a store-in-use error with a generic message.</summary>
    public StoreInUseException()
        : this("the store is open in another process or another store instance", path: null)
    {
    }

    /// <summary>Creates a store-in-use error with a message.</summary>
    /// <param name="message">Which store is held.</param>
    public StoreInUseException(string message)
        : this(message, path: null)
    {
    }

    /// <summary>Creates a store-in-use error with a message and the underlying error.</summary>
    /// <param name="message">Which store is held.</param>
    /// <param name="inner">The underlying error.</param>
    public StoreInUseException(string message, Exception inner)
        : this(message, path: null, inner)
    {
    }

    /// <summary>The store directory, when known.</summary>
    public string? Path { get; }
}
