using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Engine.Crypto;

/// <summary>
/// Somewhere outside the store directory (another volume, a service) that keeps the store's latest
/// epoch, so that a restored older copy of the store, or of its key registry, cannot pass for the
/// current one. The engine writes opaque records authenticated under a key derived from the store's
/// root key and bound to its store id; an anchor only has to keep the latest record it was given.
/// </summary>
/// <remarks>
/// The engine reads the record once at open and writes a new one after every registry write
/// (every key change, namespace creation or deletion, and clean close). Implementations must make
/// <see cref="WriteAsync"/> durable before it completes and must not keep an older record in its place.
/// </remarks>
public interface IRollbackAnchor
{
    /// <summary>The last record written, or null when none was ever written (a new anchor).</summary>
    /// <param name="ct">Cancels the read.</param>
    /// <returns>The record bytes, or null.</returns>
    /// <exception cref="IOException">The anchor cannot be read; the store does not open.</exception>
    Task<byte[]?> ReadAsync(CancellationToken ct);

    /// <summary>Durably replaces the record.</summary>
    /// <param name="record">The new record (opaque, at most a few hundred bytes).</param>
    /// <param name="ct">Cancels the write.</param>
    /// <exception cref="IOException">The anchor cannot be written; the registry write that asked reports it.</exception>
    Task WriteAsync(ReadOnlyMemory<byte> record, CancellationToken ct);
}

/// <summary>
/// A rollback anchor kept in one file, meant for a path on another volume than the store (so that
/// restoring the store's volume from a snapshot does not restore the anchor with it). The file is
/// replaced atomically (temp file, fsync, rename, directory fsync) and created with mode 0600.
/// </summary>
public sealed class FileRollbackAnchor : IRollbackAnchor
{
    /// <summary>Creates an anchor at <paramref name="path"/> (the file need not exist yet).</summary>
    /// <param name="path">The anchor file; its directory must exist.</param>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    public FileRollbackAnchor(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The anchor file (absolute).</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public async Task<byte[]?> ReadAsync(CancellationToken ct)
    {
        try
        {
            return await File.ReadAllBytesAsync(Path, ct).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public Task WriteAsync(ReadOnlyMemory<byte> record, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string temp = Path + ".tmp";
        DurableIo.WriteAndSync(temp, record.Span, FileMode.Create, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, Path, overwrite: true);
        DurableIo.SyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"FileRollbackAnchor({Path})";
}

/// <summary>
/// The anchor record: magic, store id, epoch, then one or two HMAC-SHA256 tags over those fields,
/// each under a key derived (HKDF-SHA256) from a root KEK with the store id as salt. Two tags only
/// while a root KEK rotation is in flight, so that the record authenticates under either root.
/// </summary>
internal static class RollbackAnchorRecord
{
    private const int TagSize = 32;
    private const int FixedSize = 8 + KeyringCodec.StoreIdSize + 8 + 1;

    private static ReadOnlySpan<byte> Magic => "EKVANCH1"u8;

    private static ReadOnlySpan<byte> KdfInfo => "ekv rollback anchor v1"u8;

    public static byte[] Encode(ReadOnlySpan<byte> storeId, ulong epoch, IReadOnlyList<SecretKey> roots)
    {
        byte[] record = new byte[FixedSize + (roots.Count * TagSize)];
        Magic.CopyTo(record);
        storeId.CopyTo(record.AsSpan(8));
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(8 + KeyringCodec.StoreIdSize), epoch);
        record[FixedSize - 1] = checked((byte)roots.Count);
        for (int i = 0; i < roots.Count; i++)
        {
            Tag(roots[i], storeId, record.AsSpan(0, FixedSize), record.AsSpan(FixedSize + (i * TagSize), TagSize));
        }

        return record;
    }

    /// <summary>The epoch of a record that authenticates for this store under <paramref name="root"/>.</summary>
    /// <exception cref="IntegrityException">Malformed, another store's, or not authentic.</exception>
    public static ulong Verify(ReadOnlySpan<byte> record, ReadOnlySpan<byte> storeId, SecretKey root, string anchorName)
    {
        if (record.Length < FixedSize || !record[..8].SequenceEqual(Magic) || record.Length != FixedSize + (record[FixedSize - 1] * TagSize) || record[FixedSize - 1] == 0)
        {
            throw new IntegrityException($"the rollback anchor {anchorName} does not hold an anchor record");
        }

        if (!record.Slice(8, KeyringCodec.StoreIdSize).SequenceEqual(storeId))
        {
            throw new IntegrityException($"the rollback anchor {anchorName} belongs to store {Convert.ToHexStringLower(record.Slice(8, KeyringCodec.StoreIdSize))}, not to store {Convert.ToHexStringLower(storeId)}");
        }

        Span<byte> expected = stackalloc byte[TagSize];
        Tag(root, storeId, record[..FixedSize], expected);
        for (int i = 0; i < record[FixedSize - 1]; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(expected, record.Slice(FixedSize + (i * TagSize), TagSize)))
            {
                return BinaryPrimitives.ReadUInt64LittleEndian(record.Slice(8 + KeyringCodec.StoreIdSize, 8));
            }
        }

        throw new IntegrityException($"the rollback anchor {anchorName} holds a record that does not authenticate under this store's root key: it was forged, or the key registry was replaced");
    }

    private static void Tag(SecretKey root, ReadOnlySpan<byte> storeId, ReadOnlySpan<byte> fields, Span<byte> tag)
    {
        Span<byte> key = stackalloc byte[32];
        try
        {
            if (!root.TryLease(out KeyLease lease))
            {
                throw new KeyUnavailableException("the key registry is closed; its root KEK has been zeroed");
            }

            using (lease)
            {
                HKDF.DeriveKey(HashAlgorithmName.SHA256, lease.Key, key, storeId, KdfInfo);
            }

            HMACSHA256.HashData(key, fields, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}

/// <summary>The registry's side of the rollback anchor.</summary>
internal sealed partial class KeyRegistry
{
    /// <summary>The anchor this registry advances after every write, or null.</summary>
    public IRollbackAnchor? Anchor => _anchor;

    /// <summary>
    /// Checks the registry against the anchor's record (an epoch below it is a rollback), writes the
    /// current epoch when the anchor is new, and advances it after every later write.
    /// </summary>
    /// <exception cref="IntegrityException">The registry is older than the anchor, or the record is not this store's.</exception>
    internal async Task AttachAnchorAsync(IRollbackAnchor anchor, CancellationToken ct)
    {
        string name = anchor.ToString() ?? anchor.GetType().Name;
        byte[]? record = await anchor.ReadAsync(ct).ConfigureAwait(false);
        ulong? anchored = record is null ? null : RollbackAnchorRecord.Verify(record, _storeId, _rootKek, name);
        if (Generation < anchored)
        {
            string which = LoadedFromPrevious ? $"the previous generation ({RecoveryNote})" : FileName;
            throw new IntegrityException(
                string.Create(CultureInfo.InvariantCulture, $"the store's epoch {Generation} (from {which}) is older than its rollback anchor's epoch {anchored}: an older copy of the store or of its key registry was restored"),
                FilePath);
        }

        lock (_writeLock)
        {
            _anchor = anchor;
        }

        if (anchored is null || anchored < Generation)
        {
            await anchor.WriteAsync(RollbackAnchorRecord.Encode(_storeId, Generation, [_rootKek]), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the registry as it is as a new generation: the store epoch grows (a clean close calls
    /// this, so that a copy taken while the store was open is older than the store after it).
    /// </summary>
    /// <exception cref="IOException">The registry or the anchor could not be written.</exception>
    public void AdvanceEpoch()
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            Persist(_state, shred: false);
        }
    }

    /// <summary>Before a write that replaces the root KEK: the anchor's record must authenticate under both roots until the registry is durable.</summary>
    private void PrepareAnchorForNewRoot(OpaqueKey newRoot)
    {
        if (_anchor is { } anchor && !ReferenceEquals(newRoot, _rootKek))
        {
            byte[] record = RollbackAnchorRecord.Encode(_storeId, Generation, [_rootKek, newRoot]);
            BlockingBridge.Wait(ct => anchor.WriteAsync(record, ct));
        }
    }

    /// <summary>After a registry write is durable: the anchor records its epoch.</summary>
    private void AdvanceAnchor(OpaqueKey root)
    {
        if (_anchor is { } anchor)
        {
            byte[] record = RollbackAnchorRecord.Encode(_storeId, Generation, [root]);
            BlockingBridge.Wait(ct => anchor.WriteAsync(record, ct));
        }
    }
}
