namespace Engine.Backup;

/// <summary>
/// One backup in a backup directory (<see cref="StoreBackups"/>): when it was taken, of which store and
/// at which store epoch, and how many files and bytes it holds.
/// </summary>
/// <param name="Id">The backup's number in its directory (1, 2, ...; never reused).</param>
/// <param name="CreatedUtc">When the backup's consistent point was taken.</param>
/// <param name="StoreId">The id of the store it was taken from (hex); a restore keeps it.</param>
/// <param name="Epoch">The store epoch (key registry generation) the backup's registry copy holds.</param>
/// <param name="FileCount">Files the backup consists of (shared ones included).</param>
/// <param name="TotalBytes">Bytes of those files on disk (ciphertext).</param>
/// <param name="NewBytes">Bytes this backup copied; the rest it shares with earlier backups.</param>
public sealed record BackupInfo(long Id, DateTimeOffset CreatedUtc, string StoreId, ulong Epoch, int FileCount, long TotalBytes, long NewBytes);
