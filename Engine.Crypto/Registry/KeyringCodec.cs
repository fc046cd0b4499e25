using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace Engine.Crypto;

/// <summary>Why a registry file cannot be used as-is (see <see cref="KeyringCodec.Inspect"/>).</summary>
internal enum ImageProblem
{
    None,

    /// <summary>No such file.</summary>
    Missing,

    /// <summary>Too short or checksum mismatch: a torn write or corruption; an older generation may be used.</summary>
    Damaged,

    /// <summary>Wrong magic: not a registry (or its first block was lost); an older generation may be used.</summary>
    NotRegistry,

    /// <summary>Complete (checksum fine) but a format version this build cannot read: never fall back.</summary>
    Unsupported,

    /// <summary>Complete (checksum fine) but inconsistent fields: tampering with a recomputed checksum, or a bug.</summary>
    Malformed,
}

/// <summary>A registry file whose checksum and header parse, not yet authenticated.</summary>
internal sealed class KeyringImage
{
    public required string Path { get; init; }

    public required byte[] Raw { get; init; }

    public required int HeaderLength { get; init; }

    public required byte[] StoreId { get; init; }

    public required ulong Generation { get; init; }

    public required string CmekUri { get; init; }

    public required byte[] WrappedRootKek { get; init; }

    public required int NonceOffset { get; init; }

    public required int BodyLength { get; init; }

    public ReadOnlySpan<byte> Header => Raw.AsSpan(0, HeaderLength);

    public ReadOnlySpan<byte> Nonce => Raw.AsSpan(NonceOffset, KeyringCodec.NonceSize);

    public ReadOnlySpan<byte> Ciphertext => Raw.AsSpan(HeaderLength, BodyLength);

    public ReadOnlySpan<byte> Tag => Raw.AsSpan(HeaderLength + BodyLength, KeyringCodec.TagSize);
}

/// <summary>
/// The byte layout of the KEYRING file (documented in docs/format.md, "Key registry"):
/// plaintext header, AES-256-GCM sealed body (header as associated data), XxHash64 trailer.
/// </summary>
internal static class KeyringCodec
{
    public const ushort FormatVersion = 1;
    /// <summary>Body version written: 2 adds the pending crypto-shreds; version 1 (no such list) is still read.</summary>
    public const byte BodyVersion = 2;
    public const int StoreIdSize = 16;
    public const int NonceSize = Aead.NonceSize;
    public const int TagSize = Aead.TagSize;
    public const int ChecksumSize = 8;
    public const int MaxFileSize = 64 << 20;
    public const int MaxNameBytes = 255;

    // magic(8) version(2) flags(2) store id(16) generation(8) uri len(2) .. wrapped len(2) .. nonce(12) body len(4)
    private const int FixedHeaderSize = 8 + 2 + 2 + StoreIdSize + 8 + 2 + 2 + NonceSize + 4;

    public static ReadOnlySpan<byte> Magic => "EKVKEYR1"u8;

    /// <summary>Serializes and seals a registry generation. The plaintext body is zeroed before returning.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> storeId, ulong generation, string cmekUri, ReadOnlySpan<byte> wrappedRootKek, KeyringState state, SecretKey rootKek)
    {
        byte[] uri = Encoding.UTF8.GetBytes(cmekUri);
        int headerLength = FixedHeaderSize + uri.Length + wrappedRootKek.Length;
        int bodyLength = BodySize(state);
        byte[] raw = new byte[headerLength + bodyLength + TagSize + ChecksumSize];

        var header = new SpanWriter(raw);
        header.Bytes(Magic);
        header.U16(FormatVersion);
        header.U16(0);
        header.Bytes(storeId);
        header.U64(generation);
        header.Blob16(uri);
        header.Blob16(wrappedRootKek);
        Span<byte> nonce = header.Take(NonceSize); // filled from the CSPRNG by Aead.Seal
        header.U32((uint)bodyLength);

        byte[] body = GC.AllocateArray<byte>(bodyLength, pinned: true);
        try
        {
            var writer = new SpanWriter(body);
            WriteBody(ref writer, state);
            if (!rootKek.TryLease(out KeyLease lease))
            {
                throw new KeyUnavailableException("the key registry is closed; its root KEK has been zeroed");
            }

            using (lease)
            {
                Aead.Seal(lease.Key, nonce, body, raw.AsSpan(headerLength, bodyLength), raw.AsSpan(headerLength + bodyLength, TagSize), raw.AsSpan(0, headerLength));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(raw.Length - ChecksumSize), XxHash64.HashToUInt64(raw.AsSpan(0, raw.Length - ChecksumSize)));
        return raw;
    }

    /// <summary>Reads a registry file and checks everything but authenticity.</summary>
    public static ImageProblem Inspect(string path, out KeyringImage? image, out string detail)
    {
        image = null;
        byte[] raw;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                detail = "does not exist";
                return ImageProblem.Missing;
            }

            if (info.Length > MaxFileSize)
            {
                detail = string.Create(CultureInfo.InvariantCulture, $"is {info.Length} bytes, larger than any key registry");
                return ImageProblem.NotRegistry;
            }

            raw = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            detail = "does not exist";
            return ImageProblem.Missing;
        }

        if (raw.Length < Magic.Length || !raw.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            detail = raw.Length == 0
                ? "is empty"
                : "does not start with the key registry magic 'EKVKEYR1'";
            return raw.Length == 0 ? ImageProblem.Damaged : ImageProblem.NotRegistry;
        }

        if (raw.Length < FixedHeaderSize + TagSize + ChecksumSize)
        {
            detail = string.Create(CultureInfo.InvariantCulture, $"is truncated ({raw.Length} bytes)");
            return ImageProblem.Damaged;
        }

        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(raw.Length - ChecksumSize));
        if (stored != XxHash64.HashToUInt64(raw.AsSpan(0, raw.Length - ChecksumSize)))
        {
            detail = "fails its checksum (torn write or corruption)";
            return ImageProblem.Damaged;
        }

        try
        {
            var reader = new SpanReader(raw);
            reader.Take(Magic.Length);
            ushort version = reader.U16();
            if (version != FormatVersion)
            {
                detail = string.Create(CultureInfo.InvariantCulture, $"has format version {version}; this build reads version {FormatVersion} (written by a newer engine?)");
                return ImageProblem.Unsupported;
            }

            ushort flags = reader.U16();
            byte[] storeId = reader.Take(StoreIdSize).ToArray();
            ulong generation = reader.U64();
            string uri = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(reader.Blob16());
            byte[] wrapped = reader.Blob16().ToArray();
            int nonceOffset = reader.Position;
            reader.Take(NonceSize);
            uint bodyLength = reader.U32();
            int headerLength = reader.Position;
            if (flags != 0 || bodyLength != (uint)(raw.Length - headerLength - TagSize - ChecksumSize))
            {
                detail = "has inconsistent header fields although its checksum is intact (altered, or written by a buggy engine)";
                return ImageProblem.Malformed;
            }

            image = new KeyringImage
            {
                Path = path,
                Raw = raw,
                HeaderLength = headerLength,
                StoreId = storeId,
                Generation = generation,
                CmekUri = uri,
                WrappedRootKek = wrapped,
                NonceOffset = nonceOffset,
                BodyLength = (int)bodyLength,
            };
            detail = "ok";
            return ImageProblem.None;
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            detail = $"has a malformed header although its checksum is intact ({e.Message})";
            return ImageProblem.Malformed;
        }
    }

    /// <summary>Authenticates and decrypts the body into key handles.</summary>
    /// <exception cref="IntegrityException">The body fails authentication.</exception>
    /// <exception cref="EngineException">The body authenticates but cannot be parsed (a bug).</exception>
    public static KeyringState DecryptBody(KeyringImage image, SecretKey rootKek)
    {
        byte[] body = GC.AllocateArray<byte>(image.BodyLength, pinned: true);
        try
        {
            if (!rootKek.TryLease(out KeyLease lease))
            {
                throw new KeyUnavailableException("the key registry is closed; its root KEK has been zeroed");
            }

            using (lease)
            {
                try
                {
                    Aead.Open(lease.Key, image.Nonce, image.Ciphertext, image.Tag, body, image.Header);
                }
                catch (AuthenticationTagMismatchException e)
                {
                    throw new IntegrityException(
                        $"the key registry {image.Path} failed authentication: it was altered after it was written " +
                        "(its checksum is intact, so this is not a torn write)",
                        image.Path,
                        image.HeaderLength,
                        e);
                }
            }

            try
            {
                var reader = new SpanReader(body);
                return ReadBody(ref reader);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or DecoderFallbackException)
            {
                throw new EngineException($"the key registry {image.Path} authenticates but its body is malformed ({e.Message}); written by a newer or buggy engine?", e);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    private static int ChainSize(KekChain chain) => 4 + 2 + (chain.Versions.Count * (4 + SecretKey.Size));

    private static int BodySize(KeyringState state)
    {
        int size = 1 + 4 + ChainSize(state.System) + 4;
        foreach (NamespaceEntry entry in state.ById.Values)
        {
            size += 4 + 2 + Encoding.UTF8.GetByteCount(entry.Info.Name) + ChainSize(entry.Keys);
        }

        return size + 4 + (4 * state.PendingShreds.Count);
    }

    private static void WriteBody(ref SpanWriter writer, KeyringState state)
    {
        writer.U8(BodyVersion);
        writer.U32(state.NextNamespaceId);
        WriteChain(ref writer, state.System);
        writer.U32((uint)state.ById.Count);
        foreach (NamespaceEntry entry in state.ById.Values.OrderBy(e => e.Info.Id))
        {
            writer.U32(entry.Info.Id);
            writer.Blob16(Encoding.UTF8.GetBytes(entry.Info.Name));
            WriteChain(ref writer, entry.Keys);
        }

        writer.U32((uint)state.PendingShreds.Count);
        foreach (uint id in state.PendingShreds)
        {
            writer.U32(id);
        }
    }

    private static void WriteChain(ref SpanWriter writer, KekChain chain)
    {
        writer.U32(chain.Current);
        writer.U16(checked((ushort)chain.Versions.Count));
        foreach ((uint version, Kek kek) in chain.Versions.OrderBy(p => p.Key))
        {
            writer.U32(version);
            if (!kek.TryLease(out KeyLease lease))
            {
                throw new KeyUnavailableException($"{kek} has been zeroed; the key registry is closed");
            }

            using (lease)
            {
                writer.Bytes(lease.Key);
            }
        }
    }

    private static KeyringState ReadBody(ref SpanReader reader)
    {
        var created = new List<KekChain>();
        try
        {
            byte version = reader.U8();
            if (version is not (1 or BodyVersion))
            {
                throw new FormatException($"body version {version}, expected 1 or {BodyVersion}");
            }

            uint nextId = reader.U32();
            KekChain system = ReadChain(ref reader, KeyScope.System, created);
            uint count = reader.U32();
            var entries = new List<NamespaceEntry>();
            var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
            for (uint i = 0; i < count; i++)
            {
                uint id = reader.U32();
                string name = strict.GetString(reader.Blob16());
                KekChain chain = ReadChain(ref reader, KeyScope.ForNamespace(id), created);
                entries.Add(new NamespaceEntry(new NamespaceInfo(id, name), chain));
            }

            var pending = new List<uint>();
            if (version >= 2)
            {
                uint pendingCount = reader.U32();
                if (pendingCount > reader.Remaining / 4)
                {
                    throw new FormatException($"{pendingCount} pending crypto-shreds in {reader.Remaining} bytes");
                }

                for (uint i = 0; i < pendingCount; i++)
                {
                    pending.Add(reader.U32());
                }
            }

            if (reader.Remaining != 0)
            {
                throw new FormatException($"{reader.Remaining} trailing bytes");
            }

            return new KeyringState(nextId, system, entries, pending);
        }
        catch
        {
            foreach (KekChain chain in created)
            {
                chain.DisposeAll();
            }

            throw;
        }
    }

    private static KekChain ReadChain(ref SpanReader reader, KeyScope scope, List<KekChain> created)
    {
        uint current = reader.U32();
        ushort count = reader.U16();
        var versions = new Dictionary<uint, Kek>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                uint version = reader.U32();
                ReadOnlySpan<byte> material = reader.Take(SecretKey.Size);
                if (version == 0 || versions.ContainsKey(version))
                {
                    throw new FormatException($"{scope}: invalid or duplicate KEK version {version}");
                }

                versions.Add(version, Kek.FromMaterial(scope, version, material));
            }

            var chain = new KekChain(scope, current, versions);
            created.Add(chain);
            return chain;
        }
        catch
        {
            foreach (Kek kek in versions.Values)
            {
                kek.Dispose();
            }

            throw;
        }
    }
}
