using System.Globalization;
using System.Security.Cryptography;
using Engine.Crypto;
using Engine.Files;
using Engine.Interop;

namespace Engine.Backup;

/// <summary>
/// One backup opened for verify or restore: its manifest authenticated under a key derived from its own
/// registry copy, which the CMEK unwrapped. No database is opened.
/// </summary>
internal sealed class BackupReader : IDisposable
{
    private readonly KeyRegistry _registry;

    private BackupReader(string root, BackupManifest manifest, KeyRegistry registry)
    {
        Root = root;
        Manifest = manifest;
        _registry = registry;
    }

    public string Root { get; }

    public BackupManifest Manifest { get; }

    /// <summary>Opens backup <paramref name="id"/> (the newest when null) of <paramref name="backupDir"/>.</summary>
    /// <exception cref="ArgumentException">No such backup directory or backup.</exception>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the backup's registry copy.</exception>
    /// <exception cref="IntegrityException">The manifest or the registry copy is missing, altered or forged.</exception>
    public static async Task<BackupReader> OpenAsync(string backupDir, long? id, ICmekProvider cmek, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDir);
        ArgumentNullException.ThrowIfNull(cmek);
        string root = Path.GetFullPath(backupDir);
        if (!Directory.Exists(root))
        {
            throw new ArgumentException($"The backup directory {root} does not exist.", nameof(backupDir));
        }
        SortedDictionary<long, string> manifests = BackupDirectory.Manifests(root);
        if (manifests.Count == 0)
        {
            throw new ArgumentException($"{root} holds no backup.", nameof(backupDir));
        }
        long chosen = id ?? manifests.Keys.Last();
        if (!manifests.TryGetValue(chosen, out string? manifestPath))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{root} has no backup {chosen} (it has {string.Join(", ", manifests.Keys)})."), nameof(id));
        }
        byte[] data = File.ReadAllBytes(manifestPath);
        BackupManifest header = BackupManifest.ReadHeader(manifestPath, data);
        string privateDir = Path.Combine(root, BackupManifest.DirectoryName(chosen));
        string registryPath = Path.Combine(privateDir, BackupManifest.RegistryCopyName);
        if (!File.Exists(registryPath))
        {
            throw new IntegrityException($"{registryPath}: the backup's key registry copy is missing", registryPath);
        }
        KeyRegistry registry = await KeyRegistry.OpenAsync(privateDir, cmek, ct).ConfigureAwait(false);
        try
        {
            if (!registry.StoreId.SequenceEqual(header.StoreId) || registry.Generation != header.Epoch)
            {
                throw new IntegrityException($"{registryPath}: the registry copy is not the one backup {chosen} was taken with (store id or epoch differ)", registryPath);
            }
            byte[] key = new byte[Aead.KeySize];
            BackupManifest manifest;
            try
            {
                BackupManifest.DeriveKey(registry, header.SystemKekVersion, key);
                manifest = BackupManifest.Open(manifestPath, data, key);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
            if (manifest.Id != chosen)
            {
                throw new IntegrityException(string.Create(CultureInfo.InvariantCulture, $"{manifestPath}: the manifest is that of backup {manifest.Id}, not {chosen}"), manifestPath);
            }
            return new BackupReader(root, manifest, registry);
        }
        catch
        {
            registry.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks every file against the manifest (present, size, SHA-256 of the ciphertext) and authenticates
    /// every frame of every file the plugin wrote (<c>ekv_file_verify</c>) under the keys of the registry copy.
    /// </summary>
    /// <exception cref="IntegrityException">A file is missing, of the wrong size, altered, or fails authentication.</exception>
    /// <exception cref="KeyUnavailableException">A file's key is not in the registry copy.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public BackupVerifyReport Verify(CancellationToken ct)
    {
        long bytes = 0;
        var scopes = new Dictionary<string, KeyScope>(StringComparer.Ordinal);
        foreach (BackupFile file in Manifest.Files)
        {
            ct.ThrowIfCancellationRequested();
            string path = PathOf(file);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new IntegrityException($"{path}: a file of backup {Manifest.Id} is missing", path);
            }
            if (info.Length != file.Size)
            {
                throw new IntegrityException(string.Create(CultureInfo.InvariantCulture, $"{path}: {info.Length} bytes where backup {Manifest.Id} recorded {file.Size} (cut or extended)"), path);
            }
            if (!CryptographicOperations.FixedTimeEquals(BackupWriter.HashFile(path, ct), file.Sha256))
            {
                throw new IntegrityException($"{path}: the file's bytes differ from those backup {Manifest.Id} recorded", path);
            }
            scopes[path] = ScopeOf(file.RestoreName);
            bytes += file.Size;
        }

        using var keys = new FileKeyService(_registry, p => scopes.TryGetValue(p, out KeyScope s) ? s : KeyScope.System);
        using EncryptedEnvHandle env = EncryptedEnvHandle.Create(keys, 4096, inMemory: false);
        int authenticated = 0;
        foreach (BackupFile file in Manifest.Files)
        {
            ct.ThrowIfCancellationRequested();
            if (!StoreFiles.IsPluginFile(Path.GetFileName(file.RestoreName)))
            {
                continue; // the registry copy: authenticated when it was opened
            }
            string path = PathOf(file);
            NativeStatus status = VerifyFrames(env, path, out NativeError error);
            if (status != NativeStatus.Ok)
            {
                throw status == NativeStatus.TornTail
                    ? new IntegrityException($"{path}: the backup's copy ends in a torn frame", path)
                    : error.ToException();
            }
            authenticated++;
        }
        return new BackupVerifyReport(Manifest.ToInfo(), Manifest.Files.Count, authenticated, bytes);
    }

    /// <summary>Copies every file of the backup, as it is, to its place under <paramref name="target"/>.</summary>
    public void CopyTo(string target, CancellationToken ct)
    {
        foreach (BackupFile file in Manifest.Files)
        {
            ct.ThrowIfCancellationRequested();
            string destination = Path.Combine(target, file.RestoreName);
            BackupDirectory.CreatePrivateDirectory(Path.GetDirectoryName(destination)!);
            (long size, byte[] hash) = BackupWriter.CopyFile(PathOf(file), destination, ct);
            if (size != file.Size || !CryptographicOperations.FixedTimeEquals(hash, file.Sha256))
            {
                throw new IntegrityException($"{PathOf(file)}: the file changed while it was restored", PathOf(file));
            }
        }
        foreach (string dir in Manifest.Files.Select(f => Path.GetDirectoryName(Path.Combine(target, f.RestoreName))!).Distinct(StringComparer.Ordinal))
        {
            DurableIo.SyncDirectory(dir);
        }
        DurableIo.SyncDirectory(target);
    }

    private static unsafe NativeStatus VerifyFrames(EncryptedEnvHandle env, string path, out NativeError error) =>
        NativeCall.Try(path, (msg, cap) => NativeMethods.FileVerify(env, path, out _, msg, cap), out error);

    private string PathOf(BackupFile file) => Path.Combine(Root, file.RelativePath);

    private static KeyScope ScopeOf(string restoreName)
    {
        string[] parts = restoreName.Split('/');
        return parts.Length == 3 && parts[0] == StoreLayout.NamespacesDir && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint ns)
            ? KeyScope.ForNamespace(ns)
            : KeyScope.System;
    }

    public void Dispose() => _registry.Dispose();
}
