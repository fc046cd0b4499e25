using Engine.Crypto;
using Engine.Files;

namespace Engine;

/// <summary>What reading a file's header found (see <see cref="StoreFiles.ReadHeader"/>).</summary>
internal enum HeaderState
{
    /// <summary>A valid slot is in force; <see cref="FileHeaderInfo"/> describes it.</summary>
    Ok,

    /// <summary>The file does not exist (RocksDB deleted it meanwhile).</summary>
    Missing,

    /// <summary>0 bytes: no header and no data, so no key (a crash right after creation, or LOCK).</summary>
    Empty,

    /// <summary>No valid slot, a truncated header or an envelope that does not parse.</summary>
    Unreadable,
}

/// <summary>The key-relevant fields of the slot in force of a file's header.</summary>
/// <param name="Scope">Scope named by the envelope.</param>
/// <param name="KekVersion">KEK version the DEK is wrapped under.</param>
/// <param name="Generation">Slot generation (1 at creation, +1 per re-wrap).</param>
internal readonly record struct FileHeaderInfo(KeyScope Scope, uint KekVersion, ulong Generation);

/// <summary>Outcome of <see cref="StoreFiles.Rewrap"/>.</summary>
internal enum RewrapState
{
    Rewrapped,

    /// <summary>The file vanished before or during the re-wrap: nothing to do.</summary>
    Missing,
}
