namespace Engine;

/// <summary>
/// Which key-encryption key (KEK) versions a store holds and which of them its live files use
/// (<see cref="StoreKeys.Status"/>), read from the header of every live file.
/// </summary>
/// <param name="CmekUri">The CMEK wrapping the root key.</param>
/// <param name="Scopes">The system scope first, then every namespace by id.</param>
public sealed record KeyStatusReport(string CmekUri, IReadOnlyList<ScopeKeyStatus> Scopes)
{
    /// <summary>The store's id (<see cref="EncryptedStore.StoreId"/>), for pinning it in the application's configuration.</summary>
    public string StoreId { get; init; } = string.Empty;

    /// <summary>The store epoch (<see cref="EncryptedStore.Epoch"/>) when the report was taken.</summary>
    public ulong Epoch { get; init; }
}

/// <summary>The KEK versions of one scope (the system files, or one namespace) and their use.</summary>
/// <param name="Name">"system" or the namespace name.</param>
/// <param name="NamespaceId">The namespace id; null for the system scope.</param>
/// <param name="CurrentVersion">The version new files are wrapped under.</param>
/// <param name="RegistryVersions">Every version the key registry holds, ascending.</param>
/// <param name="Versions">Per KEK version found in a live file header or held by the registry:
/// files and bytes under it. Shares are of the files that have a readable header, so they add up to 1.</param>
/// <param name="FilesWithoutKey">Files of 0 bytes: no header, no data, no key (e.g. a crash right
/// after creation); not counted in the shares.</param>
/// <param name="UnreadableFiles">Files whose header has no valid slot or envelope; not counted in
/// the shares (a KEK rotation does not retire versions while there are any).</param>
/// <param name="RotationInProgress">True while the registry holds versions older than the current
/// one: their files are being re-wrapped and the versions will then be retired.</param>
public sealed record ScopeKeyStatus(
    string Name,
    uint? NamespaceId,
    uint CurrentVersion,
    IReadOnlyList<uint> RegistryVersions,
    IReadOnlyList<KekVersionUsage> Versions,
    int FilesWithoutKey,
    int UnreadableFiles,
    bool RotationInProgress)
{
    /// <summary>Files with a readable header.</summary>
    public int Files => Versions.Sum(v => v.Files);

    /// <summary>Bytes (on disk) of the files with a readable header.</summary>
    public long Bytes => Versions.Sum(v => v.Bytes);
}

/// <summary>Use of one KEK version by the live files of a scope.</summary>
/// <param name="Version">The KEK version.</param>
/// <param name="InRegistry">False for a version a file names but the registry no longer holds
/// (retired or never issued): such a file cannot be opened. Never the case after a completed rotation.</param>
/// <param name="Files">Live files whose header (slot in force) wraps the DEK under this version.</param>
/// <param name="Bytes">Their size on disk.</param>
/// <param name="FileShare">Files / all files with a readable header of the scope (0 when there are none).</param>
/// <param name="ByteShare">Bytes / all bytes of the files with a readable header of the scope.</param>
public sealed record KekVersionUsage(uint Version, bool InRegistry, int Files, long Bytes, double FileShare, double ByteShare);

/// <summary>
/// A KEK rotation started by <see cref="StoreKeys.RotateNamespaceKey"/> or
/// <see cref="StoreKeys.RotateSystemKey"/>: the new version is in force for new files as soon as
/// this exists; <see cref="Completion"/> finishes when every older version has been retired.
/// </summary>
public sealed class KekRotation
{
    internal KekRotation(string scope, uint newVersion, Task completion)
    {
        Scope = scope;
        NewVersion = newVersion;
        Completion = completion;
    }

    /// <summary>"system" or the namespace name.</summary>
    public string Scope { get; }

    /// <summary>The KEK version new files (and every re-wrapped header) use.</summary>
    public uint NewVersion { get; }

    /// <summary>
    /// Completes when no live file uses an older version any more and the older versions have been
    /// deleted from the registry. Faults with <see cref="ObjectDisposedException"/> when the store is
    /// closed first (the re-wrap resumes at the next open). Waits across a lock of the store.
    /// </summary>
    public Task Completion { get; }
}

/// <summary>How <see cref="StoreKeys.RotateDataKeys"/> paces itself.</summary>
public sealed class DataKeyRotationOptions
{
    /// <summary>Upper bound on the bytes of SST files rewritten per second; 0 (the default) compacts
    /// each namespace in one go.</summary>
    public long BytesPerSecond { get; set; }

    /// <summary>Called after each step with the progress of the namespace being rotated.</summary>
    public IProgress<DataKeyRotationProgress>? Progress { get; set; }
}

/// <summary>
/// Progress of a DEK rotation in one namespace. Every file has its own DEK, created with the file, so
/// "under a new DEK" means "written since the rotation began" (its RocksDB file number is higher than
/// any number live when it began). <see cref="Share"/> = <see cref="NewBytes"/> /
/// (<see cref="OldBytes"/> + <see cref="NewBytes"/>) over the namespace's live SST files; a rotation
/// is complete when <see cref="OldFiles"/> is 0.
/// </summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="OldFiles">Live SST files that existed when the rotation began (old DEKs).</param>
/// <param name="OldBytes">Their size.</param>
/// <param name="NewFiles">Live SST files written since (fresh DEKs).</param>
/// <param name="NewBytes">Their size.</param>
public sealed record DataKeyRotationProgress(string Namespace, int OldFiles, long OldBytes, int NewFiles, long NewBytes)
{
    /// <summary>Share of live bytes under DEKs issued since the rotation began (1 for an empty namespace).</summary>
    public double Share => OldBytes + NewBytes == 0 ? 1 : (double)NewBytes / (OldBytes + NewBytes);

    /// <summary>True when no live file uses a DEK from before the rotation.</summary>
    public bool Complete => OldFiles == 0;
}
