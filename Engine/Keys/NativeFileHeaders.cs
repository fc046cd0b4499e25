using Engine.Crypto;
using Engine.Interop;

namespace Engine;

/// <summary>
/// <see cref="IFileHeaders"/> over the plugin: <c>ekv_file_header_info</c> reads the slot in force
/// without a key, <c>ekv_file_rewrap</c> writes the other slot (re-wraps of one env are serialized,
/// frames are never touched; docs/format.md, "Header re-wrap").
/// </summary>
internal sealed class NativeFileHeaders(EncryptedEnvHandle env) : IFileHeaders
{
    /// <inheritdoc/>
    public unsafe HeaderState Read(string path, out FileHeaderInfo info, out string? problem)
    {
        info = default;
        problem = null;
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileHeaderInfo(env, path, out NativeHeaderInfo header, msg, NativeMethods.MessageCapacity);
        if (status == NativeStatus.Ok)
        {
            if (header.EnvelopeParsed == 0 || header.ScopeKind > (uint)KeyScopeKind.Ephemeral)
            {
                problem = "the key envelope is not a version 1 envelope";
                return HeaderState.Unreadable;
            }

            info = new FileHeaderInfo(new KeyScope((KeyScopeKind)header.ScopeKind, header.ScopeId), header.KekVersion, header.Generation);
            return HeaderState.Ok;
        }

        var file = new FileInfo(path);
        if (status == NativeStatus.NotFound || !file.Exists)
        {
            return HeaderState.Missing;
        }

        if (file.Length == 0)
        {
            return HeaderState.Empty;
        }

        problem = NativeErrors.ReadMessage(msg);
        return HeaderState.Unreadable;
    }

    /// <inheritdoc/>
    public unsafe RewrapState Rewrap(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileRewrap(env, path, out _, msg, NativeMethods.MessageCapacity);
        if (status == NativeStatus.Ok)
        {
            return RewrapState.Rewrapped;
        }

        if (status == NativeStatus.NotFound || !File.Exists(path))
        {
            return RewrapState.Missing;
        }

        throw NativeErrors.ToException(status, NativeErrors.ReadMessage(msg), path);
    }
}
