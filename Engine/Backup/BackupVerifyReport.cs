using Engine.Crypto;

namespace Engine.Backup;

/// <summary>What <see cref="StoreBackups.VerifyAsync(string, long?, ICmekProvider, CancellationToken)"/> checked.</summary>
/// <param name="Backup">The backup verified.</param>
/// <param name="FilesChecked">Files compared with the manifest (presence, size, SHA-256 of the ciphertext).</param>
/// <param name="FilesAuthenticated">Of those, files whose every frame was authenticated (all but the registry copy, which authenticates when the CMEK opens it).</param>
/// <param name="Bytes">Bytes read and checked.</param>
public sealed record BackupVerifyReport(BackupInfo Backup, int FilesChecked, int FilesAuthenticated, long Bytes);
