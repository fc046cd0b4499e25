namespace Engine.Crypto;

/// <summary>Wrapping a DEK that arrives with a moved file (namespace import, Engine/Moves).</summary>
internal sealed partial class FileKeyService
{
    /// <summary>
    /// Wraps <paramref name="dek"/>, the DEK of a file imported from another store, under the current
    /// KEK of the namespace that <paramref name="path"/> lies in, bound to <paramref name="aad"/> (the
    /// header slot's fixed fields). The caller unwrapped the DEK from the export's transfer envelope
    /// and zeroes it.
    /// </summary>
    /// <returns>The envelope length (<see cref="EnvelopeSize"/>).</returns>
    /// <exception cref="ArgumentException">The path is not in a namespace directory, or a buffer has the wrong size.</exception>
    /// <exception cref="KeyUnavailableException">The namespace does not exist, or the service or registry is closed.</exception>
    public int WrapImportedFileKey(string path, ReadOnlySpan<byte> dek, ReadOnlySpan<byte> aad, Span<byte> envelopeOut)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (dek.Length != DekSize)
        {
            throw new ArgumentException($"a DEK is {DekSize} bytes, got {dek.Length}", nameof(dek));
        }
        if (envelopeOut.Length < EnvelopeSize)
        {
            throw new ArgumentException($"the envelope buffer must hold {EnvelopeSize} bytes, got {envelopeOut.Length}", nameof(envelopeOut));
        }

        ThrowIfClosed();
        using IssuanceScope issuing = EnterIssuance();
        KeyScope scope = _scopeOfPath(path);
        if (scope.Kind != KeyScopeKind.Namespace)
        {
            throw new ArgumentException($"{path} is not in a namespace directory; only namespace files are imported", nameof(path));
        }

        WrapDek(path, scope, _registry.GetCurrentKek(scope), dek, aad, envelopeOut[..EnvelopeSize]);
        return EnvelopeSize;
    }
}
