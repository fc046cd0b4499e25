using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>
/// Issues and opens per-file data keys (DEKs) for the encrypted file system: a fresh DEK per
/// file, wrapped with AES-256-GCM under the current KEK of the file's scope into a key envelope
/// (docs/format.md, "Key envelope"). The scope comes from the file's path, so a file moved
/// into another namespace's directory fails to open.
/// </summary>
/// <remarks>
/// Thread-safe: called concurrently from RocksDB threads through the native plugin callbacks.
/// Owns the per-boot ephemeral key (zeroed by <see cref="Dispose"/>); does not own the registry.
/// </remarks>
internal sealed partial class FileKeyService : IDisposable
{
    public const int DekSize = 32;
    public const int MaxEnvelopeSize = 400;
    public const int EnvelopeSize = KeyEnvelope.Size;

    private const int StackAadLimit = 512;

    private readonly KeyRegistry _registry;
    private readonly Func<string, KeyScope> _scopeOfPath;
    private readonly Kek _ephemeral;
    private long _deksIssued;
    private long _deksOpened;
    private int _disposed;

    /// <param name="registry">Source of system and namespace KEKs (not owned).</param>
    /// <param name="scopeOfPath">Maps a file path to the scope that must own it. May throw
    /// <see cref="ArgumentException"/> for paths outside the store; that propagates.</param>
    public FileKeyService(KeyRegistry registry, Func<string, KeyScope> scopeOfPath)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(scopeOfPath);
        _registry = registry;
        _scopeOfPath = scopeOfPath;
        uint bootId;
        do
        {
            bootId = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
        }
        while (bootId == 0);

        _ephemeral = Kek.Generate(KeyScope.Ephemeral, bootId);
    }

    /// <summary>Random per-process-open id of the ephemeral key; the KEK version of ephemeral envelopes.</summary>
    public uint BootId => _ephemeral.Version;

    public long DeksIssued => Interlocked.Read(ref _deksIssued);

    public long DeksOpened => Interlocked.Read(ref _deksOpened);

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>For tests: the per-boot key handle.</summary>
    internal Kek EphemeralKek => _ephemeral;

    /// <summary>
    /// Generates a DEK for a new file at <paramref name="path"/> and wraps it under the current
    /// KEK of the path's scope (the per-boot key for ephemeral scope).
    /// </summary>
    /// <param name="path">The file being created.</param>
    /// <param name="aad">Header bytes the envelope is bound to (authenticated, not stored).</param>
    /// <param name="dekOut">Receives the DEK in its first <see cref="DekSize"/> bytes.</param>
    /// <param name="envelopeOut">Receives the envelope; at least <see cref="EnvelopeSize"/> bytes.</param>
    /// <returns>The envelope length (<see cref="EnvelopeSize"/>).</returns>
    /// <exception cref="KeyUnavailableException">The namespace does not exist, or the service or registry is closed.</exception>
    /// <exception cref="ArgumentException">An output buffer is too small.</exception>
    public int NewFileKey(string path, ReadOnlySpan<byte> aad, Span<byte> dekOut, Span<byte> envelopeOut)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckDekBuffer(dekOut);
        if (envelopeOut.Length < EnvelopeSize)
        {
            throw new ArgumentException($"the envelope buffer must hold {EnvelopeSize} bytes, got {envelopeOut.Length}", nameof(envelopeOut));
        }

        ThrowIfClosed();
        using IssuanceScope issuing = EnterIssuance();
        KeyScope scope = _scopeOfPath(path);
        if (scope.Kind == KeyScopeKind.Namespace && scope.NamespaceId < _registry.NextNamespaceId && !_registry.TryGetNamespace(scope.NamespaceId, out _))
        {
            // Issued once, gone now: a deleted namespace (its column family dropped first).
            throw new NamespaceKeyDestroyedException($"{path}: namespace {scope.NamespaceId} was deleted; its key is destroyed, so no new file is created in it");
        }
        Kek kek = scope.Kind switch
        {
            KeyScopeKind.Ephemeral when scope.NamespaceId == 0 => _ephemeral,
            KeyScopeKind.Ephemeral => throw new ArgumentException($"ephemeral scope has no namespace id (got {scope.NamespaceId}) for {path}", nameof(path)),
            _ => _registry.GetCurrentKek(scope),
        };

        Span<byte> dek = dekOut[..DekSize];
        RandomNumberGenerator.Fill(dek);
        try
        {
            WrapDek(path, scope, kek, dek, aad, envelopeOut[..EnvelopeSize]);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(dek);
            throw;
        }

        Interlocked.Increment(ref _deksIssued);
        return EnvelopeSize;
    }

    /// <summary>Unwraps the DEK of an existing file at <paramref name="path"/>.</summary>
    /// <param name="path">The file being opened; its scope must match the envelope's.</param>
    /// <param name="aad">The same header bytes given to <see cref="NewFileKey"/>.</param>
    /// <param name="envelope">The envelope from the file header.</param>
    /// <param name="dekOut">Receives the DEK in its first <see cref="DekSize"/> bytes (zeroed on failure).</param>
    /// <exception cref="IntegrityException">The envelope is malformed, belongs to another scope than the
    /// path (a file spliced into another namespace's directory), names a KEK version never issued, or
    /// fails authentication (altered envelope or header bytes). Names the path.</exception>
    /// <exception cref="KeyUnavailableException">The namespace no longer exists (shredded), the KEK
    /// version was retired, the file is a temp file of an earlier boot, or the service or registry is closed.</exception>
    public void OpenFileKey(string path, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> envelope, Span<byte> dekOut)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckDekBuffer(dekOut);
        ThrowIfClosed();
        if (!KeyEnvelope.TryReadFields(envelope, out KeyScope scope, out uint version, out string problem))
        {
            throw new IntegrityException($"{path}: {problem}", path);
        }

        KeyScope expected = _scopeOfPath(path);
        if (scope != expected)
        {
            throw new IntegrityException(
                $"{path}: the key envelope belongs to scope {scope}, but the file lies in scope {expected} (moved or spliced from elsewhere?)",
                path);
        }

        Kek kek = ResolveKek(path, scope, version);
        int aadLength = KeyEnvelope.WrapAadLength(aad.Length);
        Span<byte> wrapAad = aadLength <= StackAadLimit ? stackalloc byte[aadLength] : new byte[aadLength];
        KeyEnvelope.WriteWrapAad(wrapAad, scope, version, aad);
        Span<byte> dek = dekOut[..DekSize];
        try
        {
            using KeyLease lease = Lease(kek, path);
            Aead.Open(
                lease.Key,
                envelope.Slice(KeyEnvelope.NonceOffset, KeyEnvelope.NonceSize),
                envelope.Slice(KeyEnvelope.WrappedDekOffset, DekSize),
                envelope.Slice(KeyEnvelope.TagOffset, KeyEnvelope.TagSize),
                dek,
                wrapAad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(dek);
            throw new IntegrityException(
                $"{path}: the file key does not authenticate under {kek} (the header or key envelope was altered)",
                path,
                inner: e);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(dek);
            throw;
        }

        Interlocked.Increment(ref _deksOpened);
    }

    /// <summary>Zeroes the per-boot key; later calls throw <see cref="KeyUnavailableException"/>. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _ephemeral.Dispose();
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"FileKeyService(issued={DeksIssued}, opened={DeksOpened}, boot={BootId:x8})");

    /// <summary>
    /// The one DEK wrap (new files and header re-wraps): writes the envelope fields for
    /// <paramref name="kek"/>, a fresh nonce, and <paramref name="dek"/> sealed under the KEK, bound to
    /// the scope, the KEK version and the header bytes <paramref name="aad"/>.
    /// </summary>
    /// <exception cref="KeyUnavailableException">The KEK has been zeroed.</exception>
    private static void WrapDek(string path, KeyScope scope, Kek kek, ReadOnlySpan<byte> dek, ReadOnlySpan<byte> aad, Span<byte> envelope)
    {
        KeyEnvelope.WriteFields(envelope, scope, kek.Version);
        int aadLength = KeyEnvelope.WrapAadLength(aad.Length);
        Span<byte> wrapAad = aadLength <= StackAadLimit ? stackalloc byte[aadLength] : new byte[aadLength];
        KeyEnvelope.WriteWrapAad(wrapAad, scope, kek.Version, aad);
        using KeyLease lease = Lease(kek, path);
        Aead.Seal(
            lease.Key,
            envelope.Slice(KeyEnvelope.NonceOffset, KeyEnvelope.NonceSize),
            dek,
            envelope.Slice(KeyEnvelope.WrappedDekOffset, DekSize),
            envelope.Slice(KeyEnvelope.TagOffset, KeyEnvelope.TagSize),
            wrapAad);
    }

    private Kek ResolveKek(string path, KeyScope scope, uint version)
    {
        if (scope.Kind == KeyScopeKind.Ephemeral)
        {
            return version == _ephemeral.Version
                ? _ephemeral
                : throw new KeyUnavailableException(
                    $"{path} was written under the ephemeral key of another process open (boot {version:x8}, this one is {BootId:x8}); " +
                    "per-boot keys never leave memory, so temp files of earlier boots are unreadable by design");
        }

        return _registry.TryGetKek(scope, version, out Kek? kek) switch
        {
            KekLookup.Found => kek!,
            KekLookup.UnknownScope => throw new KeyUnavailableException(
                $"{path}: {scope} does not exist in the key registry (the namespace was deleted and its key shredded?)"),
            KekLookup.NeverIssued => throw new IntegrityException(
                $"{path}: the key envelope names KEK version {version} of {scope}, which was never issued (the envelope was altered)",
                path),
            KekLookup.Retired => throw new KeyUnavailableException($"{path}: KEK version {version} of {scope} has been retired"),
            _ => throw new KeyUnavailableException($"{path}: the key registry is closed; its keys have been zeroed"),
        };
    }

    private static KeyLease Lease(Kek kek, string path) =>
        kek.TryLease(out KeyLease lease)
            ? lease
            : throw new KeyUnavailableException($"{path}: {kek} has been zeroed (key service or registry closed)");

    private void ThrowIfClosed()
    {
        if (IsDisposed)
        {
            throw new KeyUnavailableException("the file key service is closed; its keys have been zeroed");
        }
    }

    private static void CheckDekBuffer(Span<byte> dekOut)
    {
        if (dekOut.Length < DekSize)
        {
            throw new ArgumentException($"the DEK buffer must hold {DekSize} bytes, got {dekOut.Length}", nameof(dekOut));
        }
    }
}
