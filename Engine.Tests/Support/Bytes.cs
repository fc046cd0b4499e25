namespace Engine.Tests.Support;

internal static class Bytes
{
    /// <summary>True when <paramref name="needle"/> occurs anywhere in the file (read whole: test stores are small).</summary>
    public static bool FileContains(string path, ReadOnlySpan<byte> needle)
    {
        byte[] content = File.ReadAllBytes(path);
        return content.AsSpan().IndexOf(needle) >= 0;
    }

    /// <summary>Flips every bit of the byte at <paramref name="offset"/>.</summary>
    public static void FlipByte(string path, long offset)
    {
        using FileStream fs = new(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        int b = fs.ReadByte();
        fs.Position = offset;
        fs.WriteByte((byte)(b ^ 0xFF));
    }
}
