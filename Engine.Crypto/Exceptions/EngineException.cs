namespace Engine;

/// <summary>
/// Base class of every error the engine reports on purpose (as opposed to bugs and argument
/// errors). Catch it to handle "the store cannot do this now" in one place; catch a subclass
/// (<see cref="IntegrityException"/>, <see cref="KeyUnavailableException"/>,
/// <see cref="StoreLockedException"/>) to tell tampering from a missing key from a locked store.
/// </summary>
/// <remarks>
/// Messages never contain key material. They name the file, key scope or CMEK URI involved so
/// that an operator can act on them.
/// </remarks>
public class EngineException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public EngineException()
        : base("the storage engine reported an error")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What failed and, where possible, what to do about it.</param>
    public EngineException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What failed and, where possible, what to do about it.</param>
    /// <param name="innerException">The underlying error, or null.</param>
    public EngineException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
