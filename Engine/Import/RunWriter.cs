using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// Writes the entries of a cursor as a new <see cref="SpilledRun"/>. Each call of <see cref="WriteChunk"/>
/// writes one chunk file, so that it is a short step inside the store's gate.
/// </summary>
internal sealed class RunWriter
{
    /// <summary>After this many blocks in a row that did not shrink, the run stops trying to compress.</summary>
    private const int IncompressibleStreakLimit = 16;

    private readonly string _pathPrefix;
    private readonly Guid _importId;
    private readonly int _runId;
    private readonly int _chunkBytes;
    private readonly IBlockCodec? _codec;
    private readonly byte[] _raw = new byte[SpilledRun.BlockSize];
    private readonly byte[] _chunk;
    private readonly List<RunChunk> _chunks = [];
    private int _rawUsed;
    private int _chunkUsed = SpilledRun.HeaderSize;
    private int _incompressible;
    private bool _started;
    private bool _pending;

    /// <param name="tempDirectory">The store's <c>tmp/</c> directory (ephemeral key scope).</param>
    /// <param name="importId">Identifies the import in file names and chunk headers.</param>
    /// <param name="runId">Identifies the run within the import.</param>
    /// <param name="chunkBytes">Chunk files are cut at the first block boundary after this many bytes.</param>
    /// <param name="codec">Block compression, or null to store blocks as they are.</param>
    public RunWriter(string tempDirectory, Guid importId, int runId, int chunkBytes, IBlockCodec? codec)
    {
        _pathPrefix = Path.Combine(tempDirectory, $"import-{importId:N}-r{runId:D5}-c");
        _importId = importId;
        _runId = runId;
        _chunkBytes = chunkBytes;
        _codec = codec;
        int maxBlock = SpilledRun.BlockHeaderSize + Math.Max(SpilledRun.BlockSize, codec?.MaxEncodedLength(SpilledRun.BlockSize) ?? 0);
        _chunk = new byte[chunkBytes + maxBlock];
    }

    public long Entries { get; private set; }

    /// <summary>Bytes of the entry stream before compression.</summary>
    public long RawBytes { get; private set; }

    /// <summary>Bytes written to chunk files (logical, before encryption).</summary>
    public long Bytes { get; private set; }

    /// <summary>Chunks written so far (for cleanup when the import fails half-way through a run).</summary>
    public IReadOnlyList<RunChunk> Chunks => _chunks;

    /// <summary>
    /// Appends entries from <paramref name="cursor"/> until one chunk file has been written (or the cursor
    /// ends, then writes the rest). Returns true while the cursor has entries left.
    /// </summary>
    public bool WriteChunk(IRunCursor cursor, EncryptedEnvHandle env, Action checkAbort)
    {
        if (!_started)
        {
            _started = true;
            _pending = cursor.MoveNext(env);
        }
        int written = _chunks.Count;
        long n = 0;
        Span<byte> header = stackalloc byte[10];
        while (_pending && _chunks.Count == written)
        {
            ReadOnlySpan<byte> key = cursor.Key;
            ReadOnlySpan<byte> value = cursor.Value;
            int h = SpilledRun.WriteVarint(header, (uint)key.Length);
            h += SpilledRun.WriteVarint(header[h..], (uint)value.Length);
            Append(header[..h], env);
            Append(key, env);
            Append(value, env);
            Entries++;
            if ((++n & 0xFFF) == 0)
            {
                checkAbort();
            }
            _pending = cursor.MoveNext(env);
        }
        if (!_pending)
        {
            FlushBlock(env);
            if (_chunkUsed > SpilledRun.HeaderSize)
            {
                WriteChunkFile(env);
            }
        }
        return _pending;
    }

    public SpilledRun Complete() => new(_runId, [.. _chunks], Entries);

    private void Append(ReadOnlySpan<byte> bytes, EncryptedEnvHandle env)
    {
        RawBytes += bytes.Length;
        while (!bytes.IsEmpty)
        {
            int n = Math.Min(bytes.Length, _raw.Length - _rawUsed);
            bytes[..n].CopyTo(_raw.AsSpan(_rawUsed));
            _rawUsed += n;
            bytes = bytes[n..];
            if (_rawUsed == _raw.Length)
            {
                FlushBlock(env);
            }
        }
    }

    /// <summary>Encodes the raw block into the chunk buffer; writes the chunk file once it is full.</summary>
    private void FlushBlock(EncryptedEnvHandle env)
    {
        if (_rawUsed == 0)
        {
            return;
        }
        ReadOnlySpan<byte> raw = _raw.AsSpan(0, _rawUsed);
        Span<byte> body = _chunk.AsSpan(_chunkUsed + SpilledRun.BlockHeaderSize);
        int stored = -1;
        if (_codec is not null && _incompressible < IncompressibleStreakLimit)
        {
            stored = _codec.Encode(raw, body);
            _incompressible = stored < 0 ? _incompressible + 1 : 0;
        }
        uint rawField = (uint)raw.Length;
        if (stored < 0)
        {
            raw.CopyTo(body);
            stored = raw.Length;
            rawField |= SpilledRun.StoredFlag;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(_chunkUsed), rawField);
        BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(_chunkUsed + 4), (uint)stored);
        _chunkUsed += SpilledRun.BlockHeaderSize + stored;
        CryptographicOperations.ZeroMemory(_raw.AsSpan(0, _rawUsed));
        _rawUsed = 0;
        if (_chunkUsed >= _chunkBytes)
        {
            WriteChunkFile(env);
        }
    }

    private void WriteChunkFile(EncryptedEnvHandle env)
    {
        int index = _chunks.Count;
        SpilledRun.WriteHeader(_chunk, _importId, _runId, index);
        string path = _pathPrefix + index.ToString("D5", CultureInfo.InvariantCulture) + ".run";
        _chunks.Add(new RunChunk(path, _chunkUsed)); // recorded first: a failed write is still cleaned up
        TempFileIo.Write(env, path, _chunk.AsSpan(0, _chunkUsed));
        Bytes += _chunkUsed;
        CryptographicOperations.ZeroMemory(_chunk.AsSpan(0, _chunkUsed)); // run plaintext does not linger longer than needed
        _chunkUsed = SpilledRun.HeaderSize;
    }
}
