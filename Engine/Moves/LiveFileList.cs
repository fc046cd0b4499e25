using System.Buffers.Binary;
using System.Text;

namespace Engine.Moves;

/// <summary>One SST of a column family as <c>ekv_cf_live_files</c> lists it (and <c>ekv_cf_import</c> takes it).</summary>
internal sealed record LiveSst(int Level, long Size, ulong SmallestSeqno, ulong LargestSeqno, string DbPath, string Name, byte[] SmallestKey, byte[] LargestKey)
{
    public string FullPath => DbPath.TrimEnd('/') + "/" + Name;

    public override string ToString() => $"LiveSst({FullPath}, L{Level})"; // no user keys
}

/// <summary>The byte form shared with c_api_moves.cc (little-endian; see its header comment).</summary>
internal static class LiveFileList
{
    public static (string Comparator, IReadOnlyList<LiveSst> Files) Parse(byte[] data)
    {
        int p = 0;
        string comparator = String(data, ref p);
        int count = checked((int)U32(data, ref p));
        var files = new List<LiveSst>(count);
        for (int i = 0; i < count; i++)
        {
            int level = (int)U32(data, ref p);
            long size = (long)U64(data, ref p);
            ulong smallestSeq = U64(data, ref p);
            ulong largestSeq = U64(data, ref p);
            string dbPath = String(data, ref p);
            string name = String(data, ref p);
            byte[] smallest = Bytes(data, ref p);
            byte[] largest = Bytes(data, ref p);
            files.Add(new LiveSst(level, size, smallestSeq, largestSeq, dbPath, name, smallest, largest));
        }
        if (p != data.Length)
        {
            throw new InvalidDataException("the plugin's live file list has trailing bytes");
        }
        return (comparator, files);
    }

    public static byte[] Encode(string comparator, IReadOnlyList<LiveSst> files)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            WriteBytes(w, Encoding.UTF8.GetBytes(comparator));
            w.Write((uint)files.Count);
            foreach (LiveSst f in files)
            {
                w.Write((uint)f.Level);
                w.Write((ulong)f.Size);
                w.Write(f.SmallestSeqno);
                w.Write(f.LargestSeqno);
                WriteBytes(w, Encoding.UTF8.GetBytes(f.DbPath));
                WriteBytes(w, Encoding.UTF8.GetBytes(f.Name));
                WriteBytes(w, f.SmallestKey);
                WriteBytes(w, f.LargestKey);
            }
        }
        return ms.ToArray();
    }

    private static void WriteBytes(BinaryWriter w, byte[] b)
    {
        w.Write((uint)b.Length);
        w.Write(b);
    }

    private static uint U32(byte[] d, ref int p)
    {
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(p, 4));
        p += 4;
        return v;
    }

    private static ulong U64(byte[] d, ref int p)
    {
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(p, 8));
        p += 8;
        return v;
    }

    private static byte[] Bytes(byte[] d, ref int p)
    {
        int n = checked((int)U32(d, ref p));
        byte[] b = d.AsSpan(p, n).ToArray();
        p += n;
        return b;
    }

    private static string String(byte[] d, ref int p) => Encoding.UTF8.GetString(Bytes(d, ref p));
}
