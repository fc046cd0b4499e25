using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Engine.Crypto;

namespace Engine.Interop;

/// <summary>
/// Entry points the native plugin calls (on RocksDB's threads) to obtain file DEKs. They never
/// let an exception escape into native code: every failure becomes a status and a message.
/// </summary>
internal static unsafe class FileKeyCallbacks
{
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int NewFileKey(nint ctx, byte* path, byte* aad, uint aadLen, byte* dekOut,
        byte* envelopeOut, uint envelopeCap, uint* envelopeLen, byte* msg, uint msgCap)
    {
        try
        {
            var keys = (FileKeyService)GCHandle.FromIntPtr(ctx).Target!;
            string filePath = Marshal.PtrToStringUTF8((nint)path) ?? string.Empty;
            int length = keys.NewFileKey(filePath, new ReadOnlySpan<byte>(aad, (int)aadLen),
                new Span<byte>(dekOut, FileKeyService.DekSize), new Span<byte>(envelopeOut, (int)envelopeCap));
            *envelopeLen = (uint)length;
            return (int)NativeStatus.Ok;
        }
        catch (Exception ex)
        {
            return Fail(ex, msg, msgCap);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int OpenFileKey(nint ctx, byte* path, byte* aad, uint aadLen, byte* envelope,
        uint envelopeLen, byte* dekOut, byte* msg, uint msgCap)
    {
        try
        {
            var keys = (FileKeyService)GCHandle.FromIntPtr(ctx).Target!;
            string filePath = Marshal.PtrToStringUTF8((nint)path) ?? string.Empty;
            keys.OpenFileKey(filePath, new ReadOnlySpan<byte>(aad, (int)aadLen),
                new ReadOnlySpan<byte>(envelope, (int)envelopeLen), new Span<byte>(dekOut, FileKeyService.DekSize));
            return (int)NativeStatus.Ok;
        }
        catch (Exception ex)
        {
            return Fail(ex, msg, msgCap);
        }
    }

    /// <summary>
    /// Header re-wrap (<c>ekv_file_rewrap</c>): <see cref="FileKeyService.RewrapFileKey"/> unwraps
    /// <paramref name="oldEnvelope"/> (authenticating <paramref name="oldAad"/>) and wraps the same DEK
    /// under the scope's current KEK with <paramref name="newAad"/>.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int RewrapFileKey(nint ctx, byte* path, byte* oldAad, uint oldAadLen, byte* oldEnvelope,
        uint oldEnvelopeLen, byte* newAad, uint newAadLen, byte* newEnvelopeOut, uint newEnvelopeCap,
        uint* newEnvelopeLen, byte* msg, uint msgCap)
    {
        try
        {
            var keys = (FileKeyService)GCHandle.FromIntPtr(ctx).Target!;
            string filePath = Marshal.PtrToStringUTF8((nint)path) ?? string.Empty;
            int length = keys.RewrapFileKey(filePath, new ReadOnlySpan<byte>(oldAad, (int)oldAadLen),
                new ReadOnlySpan<byte>(oldEnvelope, (int)oldEnvelopeLen), new ReadOnlySpan<byte>(newAad, (int)newAadLen),
                new Span<byte>(newEnvelopeOut, (int)newEnvelopeCap));
            *newEnvelopeLen = (uint)length;
            return (int)NativeStatus.Ok;
        }
        catch (Exception ex)
        {
            return Fail(ex, msg, msgCap);
        }
    }

    private static int Fail(Exception ex, byte* msg, uint msgCap)
    {
        NativeStatus status = ex switch
        {
            IntegrityException => NativeStatus.Integrity,
            NamespaceKeyDestroyedException => NativeStatus.NamespaceDeleted,
            KeyUnavailableException or ObjectDisposedException => NativeStatus.KeyUnavailable,
            ArgumentException => NativeStatus.InvalidArgument,
            _ => NativeStatus.Internal,
        };
        WriteMessage(ex.Message, msg, msgCap);
        return (int)status;
    }

    private static void WriteMessage(string text, byte* msg, uint msgCap)
    {
        if (msg == null || msgCap == 0)
        {
            return;
        }
        var span = new Span<byte>(msg, (int)msgCap);
        int written = Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, (int)msgCap / 4)), span[..^1]);
        span[written] = 0;
    }
}
