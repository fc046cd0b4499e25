using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// A source of entries in strictly increasing key order (no duplicate keys). <see cref="Key"/> and
/// <see cref="Value"/> are valid after <see cref="MoveNext"/> returned true and until the next call.
/// </summary>
internal interface IRunCursor
{
    /// <summary>Advances to the next entry; false at the end.</summary>
    /// <param name="env">The session's env, for cursors that read encrypted temp files; call inside the gate.</param>
    bool MoveNext(EncryptedEnvHandle env);

    ReadOnlySpan<byte> Key { get; }

    ReadOnlySpan<byte> Value { get; }
}
