using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Moves;

/// <summary>
/// The key side of one header re-wrap of a move: opens the envelope in force and wraps the same DEK
/// for the other side. The plugin's crash-safe two-slot header write (<c>ekv_file_rewrap_with</c>,
/// header_ops.cc) calls it and checks that the new envelope opens to the same DEK.
/// </summary>
internal interface IHeaderKeys
{
    void Open(string path, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> envelope, Span<byte> dekOut);

    int Rewrap(string path, ReadOnlySpan<byte> oldAad, ReadOnlySpan<byte> oldEnvelope, ReadOnlySpan<byte> newAad, Span<byte> newEnvelopeOut);
}

/// <summary>Export: from the source namespace KEK (the file's envelope, opened as the live file it was copied from) to the transfer KEK.</summary>
internal sealed class ExportHeaderKeys(FileKeyService keys, TransferKey transfer, IReadOnlyDictionary<string, string> sourceOfCopy) : IHeaderKeys
{
    public void Open(string path, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> envelope, Span<byte> dekOut)
    {
        if (TransferKey.IsTransferEnvelope(envelope))
        {
            transfer.UnwrapDek(path, aad, envelope, dekOut);
        }
        else
        {
            keys.OpenFileKey(sourceOfCopy[path], aad, envelope, dekOut);
        }
    }

    public int Rewrap(string path, ReadOnlySpan<byte> oldAad, ReadOnlySpan<byte> oldEnvelope, ReadOnlySpan<byte> newAad, Span<byte> newEnvelopeOut)
    {
        Span<byte> dek = stackalloc byte[FileKeyService.DekSize];
        try
        {
            keys.OpenFileKey(sourceOfCopy[path], oldAad, oldEnvelope, dek);
            return transfer.WrapDek(dek, newAad, newEnvelopeOut);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }
}

/// <summary>Import: from the transfer KEK to the current KEK of the namespace the staged file lies in.</summary>
internal sealed class ImportHeaderKeys(FileKeyService keys, TransferKey transfer) : IHeaderKeys
{
    public void Open(string path, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> envelope, Span<byte> dekOut)
    {
        if (TransferKey.IsTransferEnvelope(envelope))
        {
            transfer.UnwrapDek(path, aad, envelope, dekOut);
        }
        else
        {
            keys.OpenFileKey(path, aad, envelope, dekOut);
        }
    }

    public int Rewrap(string path, ReadOnlySpan<byte> oldAad, ReadOnlySpan<byte> oldEnvelope, ReadOnlySpan<byte> newAad, Span<byte> newEnvelopeOut)
    {
        Span<byte> dek = stackalloc byte[FileKeyService.DekSize];
        try
        {
            transfer.UnwrapDek(path, oldAad, oldEnvelope, dek);
            return keys.WrapImportedFileKey(path, dek, newAad, newEnvelopeOut);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }
}

/// <summary>
/// The native calls of a move: header re-wraps with <see cref="IHeaderKeys"/> as the key callbacks,
/// file deletions held off during a copy, and a column family's live SST list.
/// </summary>
internal static unsafe class MoveNative
{
    /// <summary>Re-wraps the header of <paramref name="path"/> (a copy outside RocksDB's view) with <paramref name="keys"/>.</summary>
    /// <exception cref="IntegrityException">The header or an envelope does not authenticate.</exception>
    /// <exception cref="KeyUnavailableException">A KEK is unavailable.</exception>
    public static void Rewrap(EncryptedEnvHandle env, string path, IHeaderKeys keys)
    {
        GCHandle handle = GCHandle.Alloc(keys);
        var callbacks = (NativeCallbacks*)NativeMemory.AllocZeroed((nuint)sizeof(NativeCallbacks));
        try
        {
            callbacks->Context = GCHandle.ToIntPtr(handle);
            callbacks->NewFileKey = null;
            callbacks->OpenFileKey = &OpenFileKey;
            callbacks->RewrapFileKey = &RewrapFileKey;
            nint address = (nint)callbacks;
            NativeCall.Check(path, (msg, cap) => NativeMethods.FileRewrapWith(env, path, (NativeCallbacks*)address, out _, msg, cap));
        }
        finally
        {
            NativeMemory.Free(callbacks);
            handle.Free();
        }
    }

    /// <summary>Stops (false) or allows again (true) RocksDB's deletion of obsolete files; calls nest.</summary>
    public static void SetFileDeletions(nint db, bool enabled) =>
        NativeCall.Check(null, (msg, cap) => NativeMethods.DbFileDeletions(db, enabled ? 1 : 0, msg, cap));

    /// <summary>The column family's live SST files in the byte form of <c>ekv_cf_live_files</c>.</summary>
    /// <summary>Live SSTs of the column family ingested with a sequence number only the MANIFEST holds (<c>ekv_cf_ingested_files</c>).</summary>
    public static uint IngestedFiles(nint db, nint cf)
    {
        uint count = 0;
        NativeCall.Check(null, (msg, cap) => NativeMethods.CfIngestedFiles(db, cf, out count, msg, cap));
        return count;
    }

    public static byte[] LiveFiles(nint db, nint cf)
    {
        uint needed = 0;
        NativeCall.Check(null, (msg, cap) => NativeMethods.CfLiveFiles(db, cf, null, 0, out needed, msg, cap));
        while (true)
        {
            byte[] buffer = new byte[needed];
            uint length = 0;
            fixed (byte* p = buffer)
            {
                nint address = (nint)p;
                NativeCall.Check(null, (msg, cap) => NativeMethods.CfLiveFiles(db, cf, (byte*)address, (uint)buffer.Length, out length, msg, cap));
            }
            if (length <= buffer.Length)
            {
                return buffer.AsSpan(0, (int)length).ToArray();
            }
            needed = length; // a flush or compaction finished in between
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OpenFileKey(nint ctx, byte* path, byte* aad, uint aadLen, byte* envelope, uint envelopeLen, byte* dekOut, byte* msg, uint msgCap)
    {
        try
        {
            var keys = (IHeaderKeys)GCHandle.FromIntPtr(ctx).Target!;
            keys.Open(Marshal.PtrToStringUTF8((nint)path) ?? string.Empty, new ReadOnlySpan<byte>(aad, (int)aadLen),
                new ReadOnlySpan<byte>(envelope, (int)envelopeLen), new Span<byte>(dekOut, FileKeyService.DekSize));
            return (int)NativeStatus.Ok;
        }
        catch (Exception ex)
        {
            return Fail(ex, msg, msgCap);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int RewrapFileKey(nint ctx, byte* path, byte* oldAad, uint oldAadLen, byte* oldEnvelope, uint oldEnvelopeLen,
        byte* newAad, uint newAadLen, byte* newEnvelopeOut, uint newEnvelopeCap, uint* newEnvelopeLen, byte* msg, uint msgCap)
    {
        try
        {
            var keys = (IHeaderKeys)GCHandle.FromIntPtr(ctx).Target!;
            *newEnvelopeLen = (uint)keys.Rewrap(Marshal.PtrToStringUTF8((nint)path) ?? string.Empty,
                new ReadOnlySpan<byte>(oldAad, (int)oldAadLen), new ReadOnlySpan<byte>(oldEnvelope, (int)oldEnvelopeLen),
                new ReadOnlySpan<byte>(newAad, (int)newAadLen), new Span<byte>(newEnvelopeOut, (int)newEnvelopeCap));
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
            KeyUnavailableException or ObjectDisposedException => NativeStatus.KeyUnavailable,
            ArgumentException or KeyNotFoundException => NativeStatus.InvalidArgument,
            _ => NativeStatus.Internal,
        };
        if (msg != null && msgCap > 0)
        {
            var span = new Span<byte>(msg, (int)msgCap);
            string text = ex.Message;
            int written = Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, (int)msgCap / 4)), span[..^1]);
            span[written] = 0;
        }
        return (int)status;
    }
}
