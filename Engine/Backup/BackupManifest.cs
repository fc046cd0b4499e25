using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.Crypto;

namespace Engine.Backup;

/// <summary>One file of a backup as its manifest lists it.</summary>
/// <param name="RelativePath">Path under the backup directory (<c>backup-000001/CURRENT</c>, <c>shared/3/….sst</c>).</param>
/// <param name="RestoreName">Path under the restored store's root (<c>CURRENT</c>, <c>ns/3/000012.sst</c>).</param>
/// <param name="Size">Bytes on disk (ciphertext).</param>
/// <param name="Sha256">SHA-256 of those bytes.</param>
/// <param name="CopiedByThisBackup">False when an earlier backup already held it (incremental).</param>
internal sealed record BackupFile(string RelativePath, string RestoreName, long Size, byte[] Sha256, bool CopiedByThisBackup);

/// <summary>
/// The sealed manifest of one backup (docs/backup.md, "Manifest"): a plaintext header that
/// <see cref="StoreBackups.List"/> reads without keys, authenticated as the associated data of an
/// AES-256-GCM body (the file list with sizes and SHA-256 hashes) sealed under a key derived from the
/// store's system KEK, which only the CMEK can unwrap from the backup's own registry copy.
/// </summary>
internal sealed class BackupManifest
{
    public const string Suffix = ".manifest";
    public const string RegistryCopyName = KeyRegistry.FileName;
    private const int HeaderSize = 8 + 2 + 8 + 8 + 16 + 8 + 4 + 4 + 8 + 8;
    private const ushort Version = 1;
    private static ReadOnlySpan<byte> Magic => "EKVBKUP1"u8;
    private static ReadOnlySpan<byte> KdfInfo => "ekv backup manifest v1"u8;

    public BackupManifest(long id, DateTimeOffset created, byte[] storeId, ulong epoch, uint systemKekVersion, IReadOnlyList<BackupFile> files)
    {
        Id = id;
        Created = created;
        StoreId = storeId;
        Epoch = epoch;
        SystemKekVersion = systemKekVersion;
        Files = files;
    }

    public long Id { get; }

    public DateTimeOffset Created { get; }

    public byte[] StoreId { get; }

    public ulong Epoch { get; }

    /// <summary>The system KEK version the manifest key is derived from (held by the registry copy).</summary>
    public uint SystemKekVersion { get; }

    /// <summary>Empty when only the header was read (<see cref="ReadHeader"/>).</summary>
    public IReadOnlyList<BackupFile> Files { get; }

    public int FileCount { get; private init; }

    public long TotalBytes { get; private init; }

    public long NewBytes { get; private init; }

    public BackupInfo ToInfo() => new(Id, Created, Convert.ToHexStringLower(StoreId), Epoch, FileCount, TotalBytes, NewBytes);

    /// <summary>Name of the directory of a backup's own files (and of its manifest, plus <see cref="Suffix"/>).</summary>
    public static string DirectoryName(long id) => "backup-" + id.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Parses a manifest file name; false for anything else.</summary>
    public static bool TryParseName(string fileName, out long id)
    {
        id = 0;
        return fileName.StartsWith("backup-", StringComparison.Ordinal) && fileName.EndsWith(Suffix, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(7, fileName.Length - 7 - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;
    }

    /// <summary>The manifest key: HKDF-SHA256 of the system KEK, salted with the store id.</summary>
    /// <exception cref="KeyUnavailableException">The registry does not hold that system KEK version.</exception>
    public static void DeriveKey(KeyRegistry registry, uint systemKekVersion, Span<byte> key)
    {
        if (registry.TryGetKek(KeyScope.System, systemKekVersion, out Kek? kek) != KekLookup.Found || kek is null || !kek.TryLease(out KeyLease lease))
        {
            throw new KeyUnavailableException(string.Create(CultureInfo.InvariantCulture, $"the backup's key registry copy does not hold system KEK version {systemKekVersion}"));
        }
        using (lease)
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, lease.Key, key, registry.StoreId, KdfInfo);
        }
    }

    /// <summary>Seals the manifest under <paramref name="key"/>.</summary>
    public byte[] Seal(ReadOnlySpan<byte> key)
    {
        byte[] body = EncodeBody();
        try
        {
            long total = Files.Sum(f => f.Size);
            long copied = Files.Where(f => f.CopiedByThisBackup).Sum(f => f.Size);
            byte[] result = new byte[HeaderSize + Aead.NonceSize + body.Length + Aead.TagSize];
            WriteHeader(result.AsSpan(0, HeaderSize), Files.Count, total, copied);
            Span<byte> nonce = result.AsSpan(HeaderSize, Aead.NonceSize);
            Aead.Seal(key, nonce, body, result.AsSpan(HeaderSize + Aead.NonceSize, body.Length), result.AsSpan(result.Length - Aead.TagSize), result.AsSpan(0, HeaderSize));
            return result;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    /// <summary>Reads the plaintext header only (not authenticated): for listing without keys.</summary>
    /// <exception cref="IntegrityException">Not a backup manifest, or cut short.</exception>
    public static BackupManifest ReadHeader(string path, ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize + Aead.NonceSize + Aead.TagSize || !data[..8].SequenceEqual(Magic))
        {
            throw new IntegrityException($"{path} is not a backup manifest (bad magic or cut short)", path);
        }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        if (version != Version)
        {
            throw new EngineException(string.Create(CultureInfo.InvariantCulture, $"{path} is a backup manifest of format version {version}; this engine reads version {Version}"));
        }
        long id = BinaryPrimitives.ReadInt64LittleEndian(data[10..]);
        long created = BinaryPrimitives.ReadInt64LittleEndian(data[18..]);
        byte[] storeId = data.Slice(26, 16).ToArray();
        ulong epoch = BinaryPrimitives.ReadUInt64LittleEndian(data[42..]);
        uint kek = BinaryPrimitives.ReadUInt32LittleEndian(data[50..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(data[54..]);
        long total = BinaryPrimitives.ReadInt64LittleEndian(data[58..]);
        long copied = BinaryPrimitives.ReadInt64LittleEndian(data[66..]);
        if (created < 0 || created > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw new IntegrityException($"{path}: the manifest's time is out of range", path);
        }
        return new BackupManifest(id, DateTimeOffset.FromUnixTimeMilliseconds(created), storeId, epoch, kek, [])
        {
            FileCount = count,
            TotalBytes = total,
            NewBytes = copied,
        };
    }

    /// <summary>Authenticates and decodes a manifest whose header was read with <see cref="ReadHeader"/>.</summary>
    /// <exception cref="IntegrityException">The manifest does not authenticate under <paramref name="key"/>
    /// (forged, altered, or of another store), or its body is malformed.</exception>
    public static BackupManifest Open(string path, ReadOnlySpan<byte> data, ReadOnlySpan<byte> key)
    {
        BackupManifest header = ReadHeader(path, data);
        int bodyLength = data.Length - HeaderSize - Aead.NonceSize - Aead.TagSize;
        byte[] body = new byte[bodyLength];
        try
        {
            try
            {
                Aead.Open(key, data.Slice(HeaderSize, Aead.NonceSize), data.Slice(HeaderSize + Aead.NonceSize, bodyLength), data[^Aead.TagSize..], body, data[..HeaderSize]);
            }
            catch (AuthenticationTagMismatchException e)
            {
                throw new IntegrityException($"{path}: the backup manifest failed authentication (altered, forged, or not sealed by this store's keys)", path, null, e);
            }
            List<BackupFile> files = DecodeBody(path, body);
            if (files.Count != header.FileCount || files.Sum(f => f.Size) != header.TotalBytes)
            {
                throw new IntegrityException($"{path}: the manifest's header disagrees with its sealed file list", path);
            }
            return new BackupManifest(header.Id, header.Created, header.StoreId, header.Epoch, header.SystemKekVersion, files)
            {
                FileCount = header.FileCount,
                TotalBytes = header.TotalBytes,
                NewBytes = header.NewBytes,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    private void WriteHeader(Span<byte> h, int count, long total, long copied)
    {
        Magic.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(h[10..], Id);
        BinaryPrimitives.WriteInt64LittleEndian(h[18..], Created.ToUnixTimeMilliseconds());
        StoreId.CopyTo(h[26..]);
        BinaryPrimitives.WriteUInt64LittleEndian(h[42..], Epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(h[50..], SystemKekVersion);
        BinaryPrimitives.WriteInt32LittleEndian(h[54..], count);
        BinaryPrimitives.WriteInt64LittleEndian(h[58..], total);
        BinaryPrimitives.WriteInt64LittleEndian(h[66..], copied);
    }

    private byte[] EncodeBody()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Files.Count);
            foreach (BackupFile f in Files)
            {
                w.Write(f.RelativePath);
                w.Write(f.RestoreName);
                w.Write(f.Size);
                w.Write(f.Sha256);
                w.Write(f.CopiedByThisBackup);
            }
        }
        return stream.ToArray();
    }

    private static List<BackupFile> DecodeBody(string path, byte[] body)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
            int count = r.ReadInt32();
            var files = new List<BackupFile>(Math.Clamp(count, 0, 1 << 16));
            for (int i = 0; i < count; i++)
            {
                string relative = r.ReadString();
                string restore = r.ReadString();
                long size = r.ReadInt64();
                byte[] hash = r.ReadBytes(32);
                bool copied = r.ReadBoolean();
                if (hash.Length != 32 || !IsSafeRelative(relative) || !IsSafeRelative(restore) || size < 0)
                {
                    throw new IntegrityException($"{path}: malformed file entry {i} in the backup manifest", path);
                }
                files.Add(new BackupFile(relative, restore, size, hash, copied));
            }
            if (r.BaseStream.Position != body.Length)
            {
                throw new IntegrityException($"{path}: trailing bytes after the backup manifest's file list", path);
            }
            return files;
        }
        catch (EndOfStreamException e)
        {
            throw new IntegrityException($"{path}: the backup manifest's file list is cut short", path, null, e);
        }
    }

    /// <summary>A relative path that stays inside its directory (no rooted path, no "..").</summary>
    internal static bool IsSafeRelative(string path) =>
        path.Length > 0 && !Path.IsPathRooted(path) && !path.Split('/').Any(p => p is "" or "." or "..") && !path.Contains('\\', StringComparison.Ordinal) && !path.Contains('\0', StringComparison.Ordinal);
}
