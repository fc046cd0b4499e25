using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// Holds input entries in memory up to a byte budget, copied into segments (the caller may reuse its
/// arrays), then sorts them bytewise by key. For duplicate keys the entry added last wins.
/// </summary>
internal sealed class RunBuffer
{
    /// <summary>Bytes charged per entry for its index record, on top of its key and value bytes.</summary>
    internal const int EntryOverhead = 32;

    private readonly long _budget;
    private readonly int _segmentSize;
    private readonly List<byte[]> _segments = [];
    private EntryRef[] _entries = new EntryRef[1024];
    private int _count;
    private int _segment = -1;
    private int _segmentUsed;
    private long _charged;

    public RunBuffer(long budget)
    {
        _budget = budget;
        _segmentSize = (int)Math.Clamp(budget / 16, 4096, 1 << 20);
    }

    public int Count => _count;

    public bool IsEmpty => _count == 0;

    /// <summary>Adds an entry if it fits in the budget; an empty buffer always takes it.</summary>
    public bool TryAdd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int size = key.Length + value.Length;
        bool needsSegment = _segment < 0 || _segmentUsed + size > _segments[_segment].Length;
        long extra = EntryOverhead + (needsSegment ? Math.Max(size, _segmentSize) : 0);
        if (_count > 0 && _charged + extra > _budget)
        {
            return false;
        }
        if (needsSegment)
        {
            NextSegment(size);
        }
        byte[] seg = _segments[_segment];
        key.CopyTo(seg.AsSpan(_segmentUsed));
        value.CopyTo(seg.AsSpan(_segmentUsed + key.Length));
        if (_count == _entries.Length)
        {
            EntryRef[] old = _entries;
            Array.Resize(ref _entries, _entries.Length * 2);
            old.AsSpan().Clear(); // the index holds key prefixes (plaintext)
        }
        _entries[_count] = new EntryRef(PrefixOf(key), _segment, _segmentUsed, key.Length, value.Length, _count);
        _count++;
        _segmentUsed += size;
        _charged += EntryOverhead;
        return true;
    }

    private void NextSegment(int size)
    {
        _segment++;
        _segmentUsed = 0;
        if (_segment < _segments.Count && _segments[_segment].Length >= size)
        {
            _charged += _segments[_segment].Length;
            return;
        }
        byte[] fresh = new byte[Math.Max(size, _segmentSize)];
        _charged += fresh.Length;
        if (_segment < _segments.Count)
        {
            _segments[_segment] = fresh; // an oversized entry: replace the reusable segment
        }
        else
        {
            _segments.Add(fresh);
        }
    }

    /// <summary>Sorts the entries and returns a cursor over them with duplicates removed (last added wins).</summary>
    public IRunCursor Sort()
    {
        _entries.AsSpan(0, _count).Sort(new EntryComparer([.. _segments]));
        return new Cursor(this);
    }

    /// <summary>Forgets and wipes every entry; segments are kept for reuse (oversized ones are dropped).</summary>
    public void Clear()
    {
        Wipe();
        _count = 0;
        _segment = -1;
        _segmentUsed = 0;
        _segments.RemoveAll(s => s.Length != _segmentSize);
        _charged = 0;
    }

    /// <summary>Zeroes every segment and the index (plaintext keys and values) without forgetting the entry count.</summary>
    private void Wipe()
    {
        foreach (byte[] segment in _segments)
        {
            CryptographicOperations.ZeroMemory(segment);
        }
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_entries.AsSpan(0, _count)));
    }

    private ReadOnlySpan<byte> KeyOf(in EntryRef e) => _segments[e.Segment].AsSpan(e.Offset, e.KeyLength);

    private ReadOnlySpan<byte> ValueOf(in EntryRef e) => _segments[e.Segment].AsSpan(e.Offset + e.KeyLength, e.ValueLength);

    /// <summary>The first 8 key bytes, big-endian and zero-padded: orders most keys without touching the segments.</summary>
    private static ulong PrefixOf(ReadOnlySpan<byte> key)
    {
        Span<byte> prefix = stackalloc byte[8];
        prefix.Clear();
        key[..Math.Min(8, key.Length)].CopyTo(prefix);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(prefix);
    }

    private readonly record struct EntryRef(ulong Prefix, int Segment, int Offset, int KeyLength, int ValueLength, int Order);

    /// <summary>Key order (prefix first, then all bytes), then input order; a struct so the sort is specialised for it.</summary>
    private readonly struct EntryComparer(byte[][] segments) : IComparer<EntryRef>
    {
        public int Compare(EntryRef x, EntryRef y)
        {
            if (x.Prefix != y.Prefix)
            {
                return x.Prefix < y.Prefix ? -1 : 1;
            }
            int c = segments[x.Segment].AsSpan(x.Offset, x.KeyLength).SequenceCompareTo(segments[y.Segment].AsSpan(y.Offset, y.KeyLength));
            return c != 0 ? c : x.Order.CompareTo(y.Order);
        }
    }

    /// <summary>Walks the sorted entries; of a group of equal keys it yields the last one added.</summary>
    private sealed class Cursor(RunBuffer buffer) : IRunCursor
    {
        private int _next;
        private int _current = -1;

        public ReadOnlySpan<byte> Key => buffer.KeyOf(buffer._entries[_current]);

        public ReadOnlySpan<byte> Value => buffer.ValueOf(buffer._entries[_current]);

        public bool MoveNext(EncryptedEnvHandle env)
        {
            if (_next >= buffer._count)
            {
                if (_next == buffer._count)
                {
                    buffer.Wipe(); // consumed: the plaintext is no longer needed
                    _next++;
                }
                return false;
            }
            int i = _next;
            while (i + 1 < buffer._count && buffer.KeyOf(buffer._entries[i + 1]).SequenceEqual(buffer.KeyOf(buffer._entries[i])))
            {
                i++;
            }
            _current = i;
            _next = i + 1;
            return true;
        }
    }
}
