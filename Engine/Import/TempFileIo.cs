using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// Whole-file writes and block reads of encrypted files through the native plugin. Under the store's
/// <c>tmp/</c> directory the plugin wraps each file's data key with the per-boot ephemeral key, so these
/// files cannot be decrypted once the process (or this open of the store) is gone.
/// </summary>
internal static unsafe class TempFileIo
{
    /// <summary>Writes <paramref name="data"/> as the whole content of a new encrypted file (synced and closed).</summary>
    /// <exception cref="EngineException">The plugin could not write the file, or its key is unavailable.</exception>
    public static void Write(EncryptedEnvHandle env, string path, ReadOnlySpan<byte> data)
    {
        ulong length = (ulong)data.Length;
        fixed (byte* p = data)
        {
            byte* bytes = p;
            NativeCall.Check(path, (msg, cap) => NativeMethods.FileWrite(env, path, bytes, length, msg, cap));
        }
    }

    /// <summary>Decrypts up to <c>buffer.Length</c> logical bytes at <paramref name="offset"/>; returns how many were read.</summary>
    /// <exception cref="IntegrityException">A frame or the header failed authentication.</exception>
    /// <exception cref="KeyUnavailableException">The file's key is gone (a temp file of an earlier boot, a closed store).</exception>
    /// <exception cref="EngineException">The file is missing or unreadable.</exception>
    public static int Read(EncryptedEnvHandle env, string path, long offset, Span<byte> buffer)
    {
        ulong read = 0;
        ulong length = (ulong)buffer.Length;
        fixed (byte* p = buffer)
        {
            byte* bytes = p;
            NativeCall.Check(path, (msg, cap) => NativeMethods.FileRead(env, path, (ulong)offset, bytes, length, out read, msg, cap));
        }
        return (int)read;
    }
}
