namespace Engine;

/// <summary>
/// A namespace import names a namespace the target store already has (or is importing right now).
/// Nothing was changed; pick another name, or delete the existing namespace first.
/// </summary>
public sealed class NamespaceExistsException : ArgumentException
{
    /// <summary>The namespace <paramref name="name"/> exists in the store at <paramref name="storePath"/>.</summary>
    public NamespaceExistsException(string name, string storePath)
        : base($"The store at {storePath} already has a namespace '{name}'; an import never merges into or replaces a namespace. Import under another name, or delete '{name}' first.", nameof(name))
    {
        Namespace = name;
    }

    /// <summary>For serializers and tests.</summary>
    public NamespaceExistsException()
    {
        Namespace = string.Empty;
    }

    /// <summary>With a message and the cause.</summary>
    public NamespaceExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
        Namespace = string.Empty;
    }

    /// <summary>The namespace name that exists.</summary>
    public string Namespace { get; }
}
