using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// Reads a <see cref="SpilledRun"/> back through the plugin in blocks (each authenticated), decodes its
/// blocks and parses entries. Deletes each chunk file as soon as it has been read.
/// </summary>
internal sealed class SpilledRunReader : IRunCursor
{
    private readonly SpilledRun _run;
    private readonly Guid _importId;
    private readonly int _readBytes;
    private readonly IBlockCodec? _codec;
    private byte[] _stored = [];
    private int _storedStart;
    private int _storedEnd;
    private int _chunk = -1;
    private long _fileOffset;
    private byte[] _plain = [];
    private int _plainStart;
    private int _plainEnd;
    private long _entries;
    private int _keyOffset;
    private int _keyLength;
    private int _valueLength;

    /// <param name="run">The run to read.</param>
    /// <param name="importId">The import the run's chunk headers must name.</param>
    /// <param name="readBytes">Bytes read from a chunk file per call into the plugin.</param>
    /// <param name="codec">The codec the run was written with, or null.</param>
    public SpilledRunReader(SpilledRun run, Guid importId, int readBytes, IBlockCodec? codec)
    {
        _run = run;
        _importId = importId;
        _readBytes = readBytes;
        _codec = codec;
    }

    /// <summary>Memory a reader holds besides its read buffer: two decoded blocks (for entries straddling them).</summary>
    public const int PlainOverhead = 2 * SpilledRun.BlockSize;

    public ReadOnlySpan<byte> Key => _plain.AsSpan(_keyOffset, _keyLength);

    public ReadOnlySpan<byte> Value => _plain.AsSpan(_keyOffset + _keyLength, _valueLength);

    public bool MoveNext(EncryptedEnvHandle env)
    {
        while (true)
        {
            int needed = TryParse();
            if (needed == 0)
            {
                _entries++;
                return true;
            }
            if (!DecodeBlock(env, needed))
            {
                if (_plainStart != _plainEnd || _entries != _run.Entries)
                {
                    throw Corrupt(string.Create(CultureInfo.InvariantCulture, $"the run ends after {_entries} of {_run.Entries} entries"));
                }
                CryptographicOperations.ZeroMemory(_plain);
                CryptographicOperations.ZeroMemory(_stored); // decrypted (possibly compressed) run bytes
                return false;
            }
        }
    }

    /// <summary>Parses the entry at the read position: 0 when one is ready, else the plain bytes it needs.</summary>
    private int TryParse()
    {
        ReadOnlySpan<byte> available = _plain.AsSpan(_plainStart, _plainEnd - _plainStart);
        int k = SpilledRun.ReadVarint(available, out uint keyLength);
        uint valueLength = 0;
        int v = k <= 0 ? 0 : SpilledRun.ReadVarint(available[k..], out valueLength);
        if (k < 0 || v < 0)
        {
            throw Corrupt("malformed entry header");
        }
        if (k == 0 || v == 0)
        {
            return available.Length + 10;
        }
        long total = (long)k + v + keyLength + valueLength;
        if (total > int.MaxValue / 2)
        {
            throw Corrupt("entry length out of range");
        }
        if (available.Length < total)
        {
            return (int)total;
        }
        _keyOffset = _plainStart + k + v;
        _keyLength = (int)keyLength;
        _valueLength = (int)valueLength;
        _plainStart += (int)total;
        return 0;
    }

    /// <summary>Decodes the next block behind the unparsed plain bytes; false at the clean end of the run.</summary>
    private bool DecodeBlock(EncryptedEnvHandle env, int needed)
    {
        if (!EnsureStored(env, SpilledRun.BlockHeaderSize))
        {
            return false;
        }
        uint rawField = BinaryPrimitives.ReadUInt32LittleEndian(_stored.AsSpan(_storedStart));
        int storedLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_stored.AsSpan(_storedStart + 4)), int.MaxValue);
        bool plainBlock = (rawField & SpilledRun.StoredFlag) != 0;
        int rawLength = (int)(rawField & ~SpilledRun.StoredFlag);
        if (rawLength is 0 or > SpilledRun.BlockSize || (plainBlock ? storedLength != rawLength : _codec is null || storedLength > _codec.MaxEncodedLength(rawLength)))
        {
            throw Corrupt("malformed block header");
        }
        if (!EnsureStored(env, SpilledRun.BlockHeaderSize + storedLength))
        {
            throw Corrupt("a block is cut short");
        }
        int remaining = _plainEnd - _plainStart;
        int capacity = Math.Max(needed, remaining + rawLength);
        if (_plain.Length < capacity)
        {
            var grown = new byte[Math.Max(capacity, PlainOverhead)];
            _plain.AsSpan(_plainStart, remaining).CopyTo(grown);
            CryptographicOperations.ZeroMemory(_plain);
            _plain = grown;
        }
        else
        {
            _plain.AsSpan(_plainStart, remaining).CopyTo(_plain);
        }
        _plainStart = 0;
        _plainEnd = remaining;
        ReadOnlySpan<byte> body = _stored.AsSpan(_storedStart + SpilledRun.BlockHeaderSize, storedLength);
        Span<byte> target = _plain.AsSpan(_plainEnd, rawLength);
        if (plainBlock)
        {
            body.CopyTo(target);
        }
        else if (!_codec!.Decode(body, target))
        {
            throw Corrupt("a compressed block does not decode");
        }
        _plainEnd += rawLength;
        _storedStart += SpilledRun.BlockHeaderSize + storedLength;
        return true;
    }

    /// <summary>Buffers <paramref name="count"/> stored bytes of the current chunk; false at the clean end of the run.</summary>
    private bool EnsureStored(EncryptedEnvHandle env, int count)
    {
        while (_storedEnd - _storedStart < count)
        {
            if (_chunk < 0 || _fileOffset == _run.Chunks[_chunk].Length)
            {
                if (_storedStart != _storedEnd)
                {
                    throw Corrupt("a block continues past the end of its chunk");
                }
                if (_chunk >= 0)
                {
                    Files.StoreFiles.TryDeleteFileOnDisk(_run.Chunks[_chunk].Path); // fully read: no longer needed
                }
                if (_chunk + 1 == _run.Chunks.Count)
                {
                    _chunk = _run.Chunks.Count;
                    return false;
                }
                _chunk++;
                _fileOffset = 0;
            }
            Refill(env, _run.Chunks[_chunk], count);
        }
        return true;
    }

    private void Refill(EncryptedEnvHandle env, RunChunk chunk, int count)
    {
        int remaining = _storedEnd - _storedStart;
        int capacity = Math.Max(count + SpilledRun.HeaderSize, _readBytes);
        if (_stored.Length < capacity)
        {
            var grown = new byte[capacity];
            _stored.AsSpan(_storedStart, remaining).CopyTo(grown);
            CryptographicOperations.ZeroMemory(_stored);
            _stored = grown;
        }
        else
        {
            _stored.AsSpan(_storedStart, remaining).CopyTo(_stored);
        }
        _storedStart = 0;
        _storedEnd = remaining;
        int want = (int)Math.Min(_stored.Length - _storedEnd, chunk.Length - _fileOffset);
        int got = TempFileIo.Read(env, chunk.Path, _fileOffset, _stored.AsSpan(_storedEnd, want));
        if (got != want)
        {
            throw Corrupt(string.Create(CultureInfo.InvariantCulture, $"{chunk.Path} ends at {_fileOffset + got} bytes, {chunk.Length} were written"));
        }
        if (_fileOffset == 0)
        {
            if (got < SpilledRun.HeaderSize || !SpilledRun.HeaderMatches(_stored.AsSpan(_storedEnd), _importId, _run.Id, _chunk))
            {
                throw Corrupt($"{chunk.Path}: its header does not name this import, run and chunk (file swapped or copied?)");
            }
            _storedStart = _storedEnd + SpilledRun.HeaderSize;
        }
        _fileOffset += got;
        _storedEnd += got;
    }

    private IntegrityException Corrupt(string problem)
    {
        string? path = _run.Chunks.Count == 0 ? null : _run.Chunks[Math.Clamp(_chunk, 0, _run.Chunks.Count - 1)].Path;
        return new IntegrityException($"bulk import temp file of run {_run.Id} is not as written: {problem}", path);
    }
}
