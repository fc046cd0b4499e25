using Engine.Crypto;

namespace Engine;

/// <summary>What reading a file's header found (see <see cref="IFileHeaders.Read"/>).</summary>
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

/// <summary>Outcome of <see cref="IFileHeaders.Rewrap"/>.</summary>
internal enum RewrapState
{
    Rewrapped,

    /// <summary>The file vanished before or during the re-wrap: nothing to do.</summary>
    Missing,
}

/// <summary>
/// Reads and re-wraps file headers (docs/format.md, "Header re-wrap"). Implemented over the native
/// plugin's <c>ekv_file_header_info</c>/<c>ekv_file_rewrap</c>, which serialize re-wraps per env.
/// </summary>
internal interface IFileHeaders
{
    /// <summary>Reads the header slot in force of <paramref name="path"/>; never throws for a missing file.</summary>
    /// <param name="path">Absolute path of a file of the store.</param>
    /// <param name="info">The slot's key fields when <see cref="HeaderState.Ok"/>.</param>
    /// <param name="problem">Why, when <see cref="HeaderState.Unreadable"/>.</param>
    HeaderState Read(string path, out FileHeaderInfo info, out string? problem);

    /// <summary>
    /// Writes a new slot (generation + 1) holding the file's DEK wrapped under its scope's current
    /// KEK version, into the slot not in force, and syncs it.
    /// </summary>
    /// <exception cref="IntegrityException">The header does not authenticate (it is never re-wrapped).</exception>
    /// <exception cref="KeyUnavailableException">The KEK of the slot in force is gone.</exception>
    /// <exception cref="EngineException">An I/O error.</exception>
    RewrapState Rewrap(string path);
}
