using System.Runtime.InteropServices;
using Engine.Interop;

namespace Engine.Tests.Campaigns;

/// <summary>Plugin counters the engine does not surface (yet): read straight from libekvfs.so.</summary>
internal static partial class PluginCounters
{
    /// <summary>Torn tails the store's env met since it was created (files read as ending before an incomplete last frame).</summary>
    public static long TornTails(EncryptedStore store) => (long)store.Run(session => TornTailCount(session.Env));

    [LibraryImport("ekvfs", EntryPoint = "ekv_env_torn_tail_count")]
    private static partial ulong TornTailCount(EncryptedEnvHandle env);
}
