using System.Runtime.InteropServices;

namespace Engine.Bench.Systems;

/// <summary>
/// Bytes the engine's native plugin holds in its own buffers, process-wide (ekv_memory_stats in
/// ekvfs.h): plaintext buffers (each reader's cached frame, per-thread scratch) and frame indexes of
/// open files, now and at their peak. Issue 13 asks that neither grows with the store.
/// </summary>
internal readonly record struct PluginMemoryCounters(ulong PlainBufferBytes, ulong PlainBufferPeakBytes, ulong FrameIndexBytes, ulong FrameIndexPeakBytes);

/// <summary>
/// Reads <see cref="PluginMemoryCounters"/> when the loaded plugin exports them. The export is looked
/// up at run time rather than bound with LibraryImport so that the bench still builds and runs
/// against a plugin without it (results.json then has no plugin memory).
/// </summary>
internal static class PluginMemory
{
    private const string Export = "ekv_memory_stats_get";

    /// <summary>The counters, or null when the plugin has no such export.</summary>
    public static unsafe PluginMemoryCounters? TryRead()
    {
        if (!NativeLibrary.TryLoad("ekvfs", typeof(EncryptedStore).Assembly, null, out IntPtr library) ||
            !TryGetExport(library, out IntPtr function))
        {
            return null;
        }
        try
        {
            MemoryStats stats;
            ((delegate* unmanaged<MemoryStats*, void>)function)(&stats);
            return new PluginMemoryCounters(stats.PlainBufferBytes, stats.PlainBufferPeakBytes, stats.FrameIndexBytes, stats.FrameIndexPeakBytes);
        }
        finally
        {
            // Drops only this lookup's reference: the engine's own binding keeps the library loaded.
            NativeLibrary.Free(library);
        }
    }

    private static bool TryGetExport(IntPtr library, out IntPtr function)
    {
        if (NativeLibrary.TryGetExport(library, Export, out function))
        {
            return true;
        }
        NativeLibrary.Free(library);
        return false;
    }

    /// <summary>Mirrors <c>ekv_memory_stats</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryStats
    {
        public ulong PlainBufferBytes;
        public ulong PlainBufferPeakBytes;
        public ulong FrameIndexBytes;
        public ulong FrameIndexPeakBytes;
    }
}
