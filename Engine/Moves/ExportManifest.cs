using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Engine.Crypto;

namespace Engine.Moves;

/// <summary>One SST of a namespace export, as RocksDB described it in the source plus what the export checks.</summary>
/// <param name="Name">File name inside the export directory (the source's file name, e.g. <c>000012.sst</c>).</param>
/// <param name="Level">LSM level in the source column family.</param>
/// <param name="LogicalSize">Size RocksDB recorded (plaintext bytes).</param>
/// <param name="PhysicalSize">Bytes of the exported (encrypted) file.</param>
/// <param name="SmallestSeqno">Smallest sequence number in the file.</param>
/// <param name="LargestSeqno">Largest sequence number in the file.</param>
/// <param name="SmallestKey">Smallest user key (user data: only inside the sealed body).</param>
/// <param name="LargestKey">Largest user key.</param>
/// <param name="Sha256">SHA-256 of the exported file's bytes.</param>
internal sealed record ExportedSst(
    string Name,
    int Level,
    long LogicalSize,
    long PhysicalSize,
    ulong SmallestSeqno,
    ulong LargestSeqno,
    byte[] SmallestKey,
    byte[] LargestKey,
    byte[] Sha256);

/// <summary>
/// The manifest of a namespace export (<c>MOVE-MANIFEST</c>, docs/format.md "Namespace export"): a
/// plaintext header (magic, version, the target CMEK's URI, the export id, the transfer KEK wrapped by
/// that CMEK) that is the associated data of an AES-256-GCM body sealed under the transfer KEK (source
/// store id, namespace name, comparator, and per file its RocksDB metadata, size and SHA-256).
/// </summary>
internal sealed record ExportManifest(string SourceStoreId, string Namespace, string Comparator, IReadOnlyList<ExportedSst> Files)
{
    public const string FileName = "MOVE-MANIFEST";
    public const ushort FormatVersion = 1;
    private const int MaxManifestBytes = 256 << 20;

    private static ReadOnlySpan<byte> Magic => "EKVMOVE1"u8;

    /// <summary>The plaintext header of a manifest file: enough to unwrap the transfer KEK.</summary>
    internal sealed record Header(string CmekUri, byte[] ExportId, byte[] WrappedTransferKey, int Length);

    /// <summary>Serializes and seals the manifest.</summary>
    public byte[] Seal(TransferKey key, string cmekUri, byte[] wrappedTransferKey)
    {
        byte[] uri = Encoding.UTF8.GetBytes(cmekUri);
        var header = new List<byte>(64 + uri.Length + wrappedTransferKey.Length);
        header.AddRange(Magic);
        AddU16(header, FormatVersion);
        AddU16(header, checked((ushort)uri.Length));
        header.AddRange(uri);
        header.AddRange(key.ExportId);
        AddU16(header, checked((ushort)wrappedTransferKey.Length));
        header.AddRange(wrappedTransferKey);
        byte[] aad = [.. header];

        byte[] body = EncodeBody();
        try
        {
            byte[] file = new byte[aad.Length + Aead.NonceSize + 4 + body.Length + Aead.TagSize];
            aad.CopyTo(file, 0);
            int p = aad.Length;
            Span<byte> nonce = file.AsSpan(p, Aead.NonceSize);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(p + Aead.NonceSize), (uint)body.Length);
            int bodyAt = p + Aead.NonceSize + 4;
            key.Seal(body, nonce, file.AsSpan(bodyAt, body.Length), file.AsSpan(bodyAt + body.Length, Aead.TagSize), aad);
            return file;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body); // it holds user keys (smallest/largest)
        }
    }

    /// <summary>Reads the plaintext header of a manifest.</summary>
    /// <exception cref="IntegrityException">The file is not a manifest of a supported version, or is cut.</exception>
    public static Header ReadHeader(string path, byte[] file)
    {
        try
        {
            var r = new Reader(file);
            if (!r.Bytes(Magic.Length).SequenceEqual(Magic))
            {
                throw Bad(path, "it does not start with the export magic");
            }
            ushort version = r.U16();
            if (version != FormatVersion)
            {
                throw Bad(path, $"format version {version} is not {FormatVersion}");
            }
            string uri = Encoding.UTF8.GetString(r.Bytes(r.U16()));
            byte[] exportId = r.Bytes(TransferKey.ExportIdSize).ToArray();
            byte[] wrapped = r.Bytes(r.U16()).ToArray();
            return new Header(uri, exportId, wrapped, r.Position);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw Bad(path, "it is cut short", e);
        }
    }

    /// <summary>Authenticates and decodes a manifest whose header was read with <see cref="ReadHeader"/>.</summary>
    /// <exception cref="IntegrityException">The manifest was altered or is malformed.</exception>
    public static ExportManifest Open(string path, byte[] file, Header header, TransferKey key)
    {
        ReadOnlySpan<byte> aad = file.AsSpan(0, header.Length);
        int p = header.Length;
        if (file.Length < p + Aead.NonceSize + 4 + Aead.TagSize)
        {
            throw Bad(path, "it is cut short");
        }
        ReadOnlySpan<byte> nonce = file.AsSpan(p, Aead.NonceSize);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(p + Aead.NonceSize));
        int bodyAt = p + Aead.NonceSize + 4;
        if (length > MaxManifestBytes || (long)bodyAt + length + Aead.TagSize != file.Length)
        {
            throw Bad(path, "its body length does not match the file");
        }
        byte[] body = new byte[length];
        try
        {
            key.Open(path, nonce, file.AsSpan(bodyAt, (int)length), file.AsSpan(bodyAt + (int)length, Aead.TagSize), body, aad);
            return DecodeBody(path, body);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    public override string ToString() => $"ExportManifest(source {SourceStoreId}, {Files.Count} files)";

    private byte[] EncodeBody()
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            WriteString(w, SourceStoreId);
            WriteString(w, Namespace);
            WriteString(w, Comparator);
            w.Write(Files.Count);
            foreach (ExportedSst f in Files)
            {
                WriteString(w, f.Name);
                w.Write(f.Level);
                w.Write(f.LogicalSize);
                w.Write(f.PhysicalSize);
                w.Write(f.SmallestSeqno);
                w.Write(f.LargestSeqno);
                w.Write(f.SmallestKey.Length);
                w.Write(f.SmallestKey);
                w.Write(f.LargestKey.Length);
                w.Write(f.LargestKey);
                w.Write(f.Sha256);
            }
        }
        byte[] result = ms.ToArray();
        CryptographicOperations.ZeroMemory(ms.GetBuffer());
        return result;
    }

    private static ExportManifest DecodeBody(string path, byte[] body)
    {
        try
        {
            var r = new Reader(body);
            string source = r.String();
            string ns = r.String();
            string comparator = r.String();
            int count = r.I32();
            if (count < 0 || count > 1_000_000)
            {
                throw Bad(path, $"it lists {count} files");
            }
            var files = new List<ExportedSst>(count);
            for (int i = 0; i < count; i++)
            {
                string name = r.String();
                if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.StartsWith('.') || !name.EndsWith(".sst", StringComparison.Ordinal) || name == FileName)
                {
                    throw Bad(path, $"file {i} has an unacceptable name");
                }
                files.Add(new ExportedSst(
                    name,
                    r.I32(),
                    r.I64(),
                    r.I64(),
                    r.U64(),
                    r.U64(),
                    r.Bytes(r.I32()).ToArray(),
                    r.Bytes(r.I32()).ToArray(),
                    r.Bytes(32).ToArray()));
            }
            if (r.Position != body.Length)
            {
                throw Bad(path, "its body has trailing bytes");
            }
            return new ExportManifest(source, ns, comparator, files);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw Bad(path, "its body is cut short", e);
        }
    }

    private static IntegrityException Bad(string path, string why, Exception? inner = null) =>
        new($"{path}: not a valid namespace export manifest: {why}", path, inner: inner);

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write(b.Length);
        w.Write(b);
    }

    private static void AddU16(List<byte> list, ushort v)
    {
        list.Add((byte)v);
        list.Add((byte)(v >> 8));
    }

    /// <summary>Bounds-checked little-endian reader; running past the end throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    private sealed class Reader(byte[] data)
    {
        public int Position { get; private set; }

        public ReadOnlySpan<byte> Bytes(int n)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(n, data.Length - Position);
            ReadOnlySpan<byte> s = data.AsSpan(Position, n);
            Position += n;
            return s;
        }

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2));

        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));

        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8));

        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));

        public string String() => Encoding.UTF8.GetString(Bytes(I32()));
    }
}
