using Engine.Crypto;
using Engine.Interop;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Reads and verifies single files of a store directory through the native plugin
/// (<c>ekv_file_verify</c>, <c>ekv_file_read</c>) without opening RocksDB: the key registry is unwrapped
/// with the CMEK and an env of its own serves the DEKs, as <c>engine log</c> does.
/// </summary>
internal sealed class PluginFiles : IDisposable
{
    private readonly ICmekProvider _cmek;
    private readonly KeyRegistry _registry;
    private readonly FileKeyService _keys;
    private readonly EncryptedEnvHandle _env;

    public PluginFiles(string storeRoot, string cmekUri)
    {
        _cmek = CmekProviders.Open(cmekUri);
        _registry = BlockingBridge.Wait(ct => KeyRegistry.OpenAsync(storeRoot, _cmek, ct));
        _keys = new FileKeyService(_registry, new StoreLayout(storeRoot).ScopeOf);
        _env = EncryptedEnvHandle.Create(_keys, StoreOptions.DefaultFrameSize, inMemory: false);
    }

    /// <summary>What <c>ekv_file_verify</c> says about a file.</summary>
    public readonly record struct Verdict(NativeStatus Status, long LogicalBytes, string Message)
    {
        public EngineException ToException(string path) => NativeErrors.ToException(Status, Message, path);
    }

    public unsafe Verdict Verify(string path)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        var status = (NativeStatus)NativeMethods.FileVerify(_env, path, out ulong logical, msg, NativeMethods.MessageCapacity);
        return new Verdict(status, (long)logical, NativeErrors.ReadMessage(msg));
    }

    /// <summary>The whole plaintext of a file (authenticated); throws the engine's exception on failure.</summary>
    public unsafe byte[] ReadAll(string path)
    {
        var result = new MemoryStream();
        byte[] buffer = new byte[1 << 20];
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        ulong offset = 0;
        while (true)
        {
            msg[0] = 0;
            ulong read;
            int status;
            fixed (byte* b = buffer)
            {
                status = NativeMethods.FileRead(_env, path, offset, b, (ulong)buffer.Length, out read, msg, NativeMethods.MessageCapacity);
            }
            if (status != (int)NativeStatus.Ok)
            {
                throw NativeErrors.ToException((NativeStatus)status, NativeErrors.ReadMessage(msg), path);
            }
            result.Write(buffer, 0, (int)read);
            offset += read;
            if (read < (ulong)buffer.Length)
            {
                return result.ToArray();
            }
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/>; returns the status and the bytes read.</summary>
    public unsafe (NativeStatus Status, int Read, string Message) ReadAt(string path, ulong offset, byte[] buffer)
    {
        byte* msg = stackalloc byte[NativeMethods.MessageCapacity];
        msg[0] = 0;
        ulong read;
        int status;
        fixed (byte* b = buffer)
        {
            status = NativeMethods.FileRead(_env, path, offset, b, (ulong)buffer.Length, out read, msg, NativeMethods.MessageCapacity);
        }
        return ((NativeStatus)status, (int)read, NativeErrors.ReadMessage(msg));
    }

    public void Dispose()
    {
        _env.Dispose();
        _keys.Dispose();
        _registry.Dispose();
        _cmek.Dispose();
    }
}
