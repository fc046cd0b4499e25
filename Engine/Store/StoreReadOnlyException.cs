namespace Engine;

/// <summary>
/// A write (put, delete, batch, bulk import, flush, compaction, namespace creation or deletion, key
/// rotation) on a store opened with <see cref="StoreOptions.ReadOnly"/>. Nothing was written; reopen the
/// store without <see cref="StoreOptions.ReadOnly"/> to write.
/// </summary>
public sealed class StoreReadOnlyException : EngineException
{
    /// <summary>Creates the error for a refused operation.</summary>
    /// <param name="operation">What was refused, e.g. "Put".</param>
    /// <param name="path">The store directory.</param>
    public StoreReadOnlyException(string operation, string path)
        : base($"{operation} refused: the store at {path} is open read-only (StoreOptions.ReadOnly).")
    {
    }

    /// <summary>Creates the error with a generic message.</summary>
    public StoreReadOnlyException()
        : base("The store is open read-only (StoreOptions.ReadOnly).")
    {
    }

    /// <summary>Creates the error with <paramref name="message"/>.</summary>
    public StoreReadOnlyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with <paramref name="message"/> and its cause.</summary>
    public StoreReadOnlyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
