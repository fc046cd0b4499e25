using System.Diagnostics;
using Engine.Crypto;
using Engine.Diagnostics;

namespace Engine.Backup;

/// <summary>
/// Backups that stay encrypted (docs/backup.md). <see cref="CreateAsync"/> (through
/// <see cref="EncryptedStore.Backups"/>) takes an online, consistent, incremental backup of an open
/// store into a backup directory that holds many backups sharing unchanged SSTs; the static members
/// list, verify and restore backups without opening any database. Nothing is decrypted to disk: files
/// are copied as ciphertext, and each backup carries a copy of the key registry (wrapped by the CMEK)
/// and a manifest sealed under a key only that CMEK can reach.
/// </summary>
public sealed class StoreBackups
{
    private readonly EncryptedStore _store;

    internal StoreBackups(EncryptedStore store) => _store = store;

    /// <summary>
    /// Takes a backup while the store keeps serving reads and writes. Key rotations, namespace deletions
    /// and namespace creation wait for the short consistent step (registry copy + RocksDB checkpoint);
    /// the copy into <paramref name="backupDir"/> runs without locks. Every write acknowledged before
    /// the call began is in the backup. An SST that an earlier backup in the directory already holds
    /// (same namespace, file id, header and size) is not copied again.
    /// </summary>
    /// <param name="backupDir">The backup directory (created, mode 0700, if missing); not inside the store.</param>
    /// <param name="ct">Cancels the backup; a cancelled or failed backup leaves nothing listed and removes what it copied.</param>
    /// <returns>The new backup (its id, epoch, file and byte counts, and the bytes it copied).</returns>
    /// <exception cref="ArgumentException"><paramref name="backupDir"/> is empty or inside the store.</exception>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only (a checkpoint flushes memtables).</exception>
    /// <exception cref="NotSupportedException">The store is in memory.</exception>
    /// <exception cref="StoreInUseException">Another backup is being written into <paramref name="backupDir"/>.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK no longer unwraps the registry copy.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="IOException">The backup directory cannot be written.</exception>
    public async Task<BackupInfo> CreateAsync(string backupDir, CancellationToken ct = default)
    {
        StoreTelemetry telemetry = _store.Telemetry;
        using Activity? activity = telemetry.StartActivity("engine.store.backup");
        long started = Stopwatch.GetTimestamp();
        try
        {
            BackupInfo info = await BackupWriter.CreateAsync(_store, backupDir, ct).ConfigureAwait(false);
            activity?.SetTag("engine.backup.id", info.Id);
            activity?.SetTag("engine.backup.new_bytes", info.NewBytes);
            double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            string directory = Path.GetFullPath(backupDir);
            EngineLog.BackupCreated(telemetry.Logger, telemetry.StoreId, info.Id, directory, info.FileCount, info.TotalBytes, info.NewBytes, elapsedMs);
            return info;
        }
        catch (Exception e)
        {
            StoreTelemetry.Fail(activity, e);
            throw;
        }
    }

    /// <summary>
    /// The backups in <paramref name="backupDir"/>, oldest first, as their manifests' plaintext headers
    /// say: no key is needed, nothing is authenticated (use <see cref="VerifyAsync(string, long?, ICmekProvider, CancellationToken)"/>).
    /// A cancelled or failed backup has no manifest and is not listed.
    /// </summary>
    /// <exception cref="ArgumentException">The directory does not exist.</exception>
    /// <exception cref="IntegrityException">A manifest file is not a backup manifest.</exception>
    public static IReadOnlyList<BackupInfo> List(string backupDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDir);
        string root = Path.GetFullPath(backupDir);
        if (!Directory.Exists(root))
        {
            throw new ArgumentException($"The backup directory {root} does not exist.", nameof(backupDir));
        }
        return [.. BackupDirectory.Manifests(root).Values.Select(path => BackupManifest.ReadHeader(path, File.ReadAllBytes(path)).ToInfo())];
    }

    /// <summary>
    /// Verifies backup <paramref name="id"/> (the newest when null) without opening a database: the CMEK
    /// unwraps the backup's own registry copy, the manifest authenticates under a key derived from it,
    /// every file is present with the recorded size and SHA-256, and every frame of every file
    /// authenticates under the keys of that registry copy.
    /// </summary>
    /// <param name="backupDir">The backup directory.</param>
    /// <param name="id">The backup, or null for the newest.</param>
    /// <param name="cmek">The CMEK of the store the backup was taken from (not disposed).</param>
    /// <param name="ct">Cancels the verification.</param>
    /// <exception cref="ArgumentException">No such directory or backup.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the backup's registry copy (wrong, revoked or destroyed key).</exception>
    /// <exception cref="IntegrityException">The manifest is forged or altered, or a file is missing, cut, altered or fails authentication.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static async Task<BackupVerifyReport> VerifyAsync(string backupDir, long? id, ICmekProvider cmek, CancellationToken ct = default)
    {
        using BackupReader reader = await BackupReader.OpenAsync(backupDir, id, cmek, ct).ConfigureAwait(false);
        return await Task.Run(() => reader.Verify(ct), ct).ConfigureAwait(false);
    }

    /// <summary>As <see cref="VerifyAsync(string, long?, ICmekProvider, CancellationToken)"/>, with the CMEK given by URI.</summary>
    /// <inheritdoc cref="VerifyAsync(string, long?, ICmekProvider, CancellationToken)" path="/exception"/>
    public static async Task<BackupVerifyReport> VerifyAsync(string backupDir, long? id, string cmekUri, CancellationToken ct = default)
    {
        using ICmekProvider cmek = CmekProviders.Open(cmekUri);
        return await VerifyAsync(backupDir, id, cmek, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Restores backup <paramref name="id"/> (the newest when null) into <paramref name="targetDir"/>, which
    /// must not exist or be empty: the backup is verified completely first (as
    /// <see cref="VerifyAsync(string, long?, ICmekProvider, CancellationToken)"/>), then its files are copied
    /// as they are (ciphertext). The result is a store with the backed-up store's id, keys and epoch; open
    /// it with the same CMEK. A failure leaves <paramref name="targetDir"/> as it was (missing or empty).
    /// </summary>
    /// <param name="backupDir">The backup directory.</param>
    /// <param name="id">The backup, or null for the newest.</param>
    /// <param name="targetDir">Where the store is restored to.</param>
    /// <param name="cmek">The CMEK of the store the backup was taken from (not disposed).</param>
    /// <param name="ct">Cancels the restore (what it copied is removed).</param>
    /// <returns>The backup restored.</returns>
    /// <exception cref="ArgumentException">No such backup, or <paramref name="targetDir"/> exists and is not an empty directory.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the backup's registry copy; nothing is written.</exception>
    /// <exception cref="IntegrityException">The backup failed verification; nothing is written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="IOException">The target cannot be written.</exception>
    public static async Task<BackupInfo> RestoreAsync(string backupDir, long? id, string targetDir, ICmekProvider cmek, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetDir);
        string target = Path.GetFullPath(targetDir);
        CheckRestoreTarget(target);
        using BackupReader reader = await BackupReader.OpenAsync(backupDir, id, cmek, ct).ConfigureAwait(false);
        return await Task.Run(() =>
        {
            reader.Verify(ct);
            CheckRestoreTarget(target); // again: it may have been filled meanwhile
            bool existed = Directory.Exists(target);
            try
            {
                BackupDirectory.CreatePrivateDirectory(target);
                reader.CopyTo(target, ct);
            }
            catch
            {
                if (existed)
                {
                    foreach (string entry in Directory.EnumerateFileSystemEntries(target))
                    {
                        if (Directory.Exists(entry))
                        {
                            Files.StoreFiles.TryDeleteTreeOnDisk(entry);
                        }
                        else
                        {
                            Files.StoreFiles.TryDeleteFileOnDisk(entry);
                        }
                    }
                }
                else
                {
                    Files.StoreFiles.TryDeleteTreeOnDisk(target);
                }
                throw;
            }
            return reader.Manifest.ToInfo();
        }, ct).ConfigureAwait(false);
    }

    /// <summary>As <see cref="RestoreAsync(string, long?, string, ICmekProvider, CancellationToken)"/>, with the CMEK given by URI.</summary>
    /// <inheritdoc cref="RestoreAsync(string, long?, string, ICmekProvider, CancellationToken)" path="/exception"/>
    public static async Task<BackupInfo> RestoreAsync(string backupDir, long? id, string targetDir, string cmekUri, CancellationToken ct = default)
    {
        using ICmekProvider cmek = CmekProviders.Open(cmekUri);
        return await RestoreAsync(backupDir, id, targetDir, cmek, ct).ConfigureAwait(false);
    }

    private static void CheckRestoreTarget(string targetDir)
    {
        if (File.Exists(targetDir))
        {
            throw new ArgumentException($"The restore target {targetDir} is a file; restore into a new or empty directory.", nameof(targetDir));
        }
        if (Directory.Exists(targetDir) && Directory.EnumerateFileSystemEntries(targetDir).Any())
        {
            throw new ArgumentException($"The restore target {targetDir} is not empty; restore into a new or empty directory (nothing was changed).", nameof(targetDir));
        }
    }
}
