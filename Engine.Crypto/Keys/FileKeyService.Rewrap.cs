using System.Diagnostics;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>Re-wrapping a file's DEK under the current KEK version, and the issuance barrier a KEK rotation needs.</summary>
internal sealed partial class FileKeyService
{
    private readonly Lock _issuanceSync = new();
    private readonly HashSet<long> _issuing = [];
    private long _issuanceTickets;
    private long _deksRewrapped;

    /// <summary>DEKs re-wrapped under a newer KEK version by <see cref="RewrapFileKey"/>.</summary>
    public long DeksRewrapped => Interlocked.Read(ref _deksRewrapped);

    /// <summary>
    /// Re-wraps the DEK of the existing file at <paramref name="path"/> for a header re-wrap
    /// (docs/format.md, "Header region"): unwraps <paramref name="oldEnvelope"/> as
    /// <see cref="OpenFileKey"/> does, under the KEK version it names, and wraps the same DEK under
    /// the scope's current KEK version, bound to <paramref name="newAad"/> (the new slot's fixed
    /// fields, whose generation is one more). The DEK never leaves this method and is zeroed.
    /// </summary>
    /// <param name="path">The file; its scope must match the envelope's.</param>
    /// <param name="oldAad">Fixed fields of the slot the old envelope was read from.</param>
    /// <param name="oldEnvelope">The envelope of the slot in force.</param>
    /// <param name="newAad">Fixed fields of the slot being written.</param>
    /// <param name="newEnvelopeOut">Receives the new envelope; at least <see cref="EnvelopeSize"/> bytes.</param>
    /// <returns>The new envelope length (<see cref="EnvelopeSize"/>).</returns>
    /// <exception cref="IntegrityException">As for <see cref="OpenFileKey"/>: malformed, spliced or
    /// altered envelope or header.</exception>
    /// <exception cref="KeyUnavailableException">The old KEK version is retired, the namespace was
    /// deleted, or the service or registry is closed.</exception>
    /// <exception cref="ArgumentException">A temp file (per-boot keys are never re-wrapped), or the
    /// output buffer is too small.</exception>
    public int RewrapFileKey(string path, ReadOnlySpan<byte> oldAad, ReadOnlySpan<byte> oldEnvelope, ReadOnlySpan<byte> newAad, Span<byte> newEnvelopeOut)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (newEnvelopeOut.Length < EnvelopeSize)
        {
            throw new ArgumentException($"the envelope buffer must hold {EnvelopeSize} bytes, got {newEnvelopeOut.Length}", nameof(newEnvelopeOut));
        }

        ThrowIfClosed();
        using IssuanceScope issuing = EnterIssuance();
        if (!KeyEnvelope.TryReadFields(oldEnvelope, out KeyScope scope, out _, out string problem))
        {
            throw new IntegrityException($"{path}: {problem}", path);
        }

        if (scope.Kind == KeyScopeKind.Ephemeral)
        {
            throw new ArgumentException($"{path} is a temp file under the per-boot key; such files are never re-wrapped", nameof(path));
        }

        Span<byte> dek = stackalloc byte[DekSize];
        try
        {
            OpenFileKey(path, oldAad, oldEnvelope, dek);
            WrapDek(path, scope, _registry.GetCurrentKek(scope), dek, newAad, newEnvelopeOut[..EnvelopeSize]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }

        Interlocked.Increment(ref _deksRewrapped);
        return EnvelopeSize;
    }

    /// <summary>
    /// Waits until every <see cref="NewFileKey"/> and <see cref="RewrapFileKey"/> call that started
    /// before this one has returned. After a KEK rotation is published, this is the point from which
    /// no call can still hand out an envelope under the previous current version (calls that start
    /// later read the new one). The plugin writes the header right after the call returns.
    /// </summary>
    /// <param name="timeout">How long to wait at most.</param>
    /// <returns>False when calls were still running at the timeout.</returns>
    public bool WaitForIssuedKeys(TimeSpan timeout)
    {
        long barrier;
        lock (_issuanceSync)
        {
            barrier = _issuanceTickets;
        }

        var clock = Stopwatch.StartNew();
        var spin = default(SpinWait);
        while (true)
        {
            lock (_issuanceSync)
            {
                if (!_issuing.Any(ticket => ticket <= barrier))
                {
                    return true;
                }
            }

            if (clock.Elapsed >= timeout)
            {
                return false;
            }

            spin.SpinOnce(sleep1Threshold: 10);
        }
    }

    private IssuanceScope EnterIssuance()
    {
        lock (_issuanceSync)
        {
            long ticket = ++_issuanceTickets;
            _issuing.Add(ticket);
            return new IssuanceScope(this, ticket);
        }
    }

    private void ExitIssuance(long ticket)
    {
        lock (_issuanceSync)
        {
            _issuing.Remove(ticket);
        }
    }

    /// <summary>One key call in flight, for <see cref="WaitForIssuedKeys"/>.</summary>
    private readonly ref struct IssuanceScope(FileKeyService owner, long ticket)
    {
        public void Dispose() => owner.ExitIssuance(ticket);
    }
}
