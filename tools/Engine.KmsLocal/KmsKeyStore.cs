using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engine.Crypto;

namespace Engine.KmsLocal;

/// <summary>
/// The local KMS's keys and their aliases, persisted in <c>keys.json</c> in the data directory (mode 0600, replaced
/// atomically: written and fsynced under a temporary name, renamed, directory fsynced). Every
/// operation re-reads the file when it changed, under an exclusive lock file, so that a running
/// server and the operator's <c>kms disable-key</c> in another process see each other's changes.
/// </summary>
/// <remarks>A key whose deletion date has passed is removed (its material forgotten) the next time
/// the file is written; until then it already answers as not found.</remarks>
internal sealed class KmsKeyStore
{
    public const string FileName = "keys.json";
    public const string Account = "111122223333";
    public const string Enabled = "Enabled";
    public const string Disabled = "Disabled";
    public const string PendingDeletion = "PendingDeletion";

    private const string LockFileName = "keys.lock";
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly object _gate = new();
    private readonly string _path;
    private readonly string _lockPath;
    private readonly TimeProvider _time;
    private List<KeyRecord> _keys = [];
    private (DateTime Written, long Length)? _loadedVersion;

    public KmsKeyStore(string dataDir, string region, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        DataDir = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(DataDir);
        Region = region;
        _path = Path.Combine(DataDir, FileName);
        _lockPath = Path.Combine(DataDir, LockFileName);
        _time = time ?? TimeProvider.System;
    }

    public string DataDir { get; }

    /// <summary>The region of the ARNs the operator commands see; a request sees its own region's.</summary>
    public string Region { get; }

    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Runs <paramref name="action"/> on the current keys; persists them when it returns true.</summary>
    public T Update<T>(Func<List<KeyRecord>, (T Result, bool Changed)> action)
    {
        lock (_gate)
        {
            using FileStream fileLock = AcquireFileLock();
            Reload();
            (T result, bool changed) = action(_keys);
            if (changed || _keys.Exists(k => IsDestroyed(k)))
            {
                _keys.RemoveAll(IsDestroyed);
                Save();
            }

            return result;
        }
    }

    /// <summary>Runs a read-only <paramref name="query"/> on the current keys.</summary>
    public T Read<T>(Func<List<KeyRecord>, T> query) => Update(keys => (query(keys), false));

    /// <summary>
    /// Finds a live key as AWS identifies one: a key id, a key ARN, and (where AWS accepts them:
    /// <paramref name="aliases"/>) an alias name <c>alias/NAME</c> or alias ARN. ARNs must name
    /// <paramref name="region"/> (the request's) and this account, as a key in AWS lives in one region.
    /// </summary>
    /// <exception cref="KmsError"><c>ValidationException</c> for a missing id, <c>NotFoundException</c>
    /// for anything that names no live key (or an alias where only keys are accepted).</exception>
    public KeyRecord Find(List<KeyRecord> keys, string? keyIdOrArn, string region, bool aliases = false)
    {
        if (string.IsNullOrWhiteSpace(keyIdOrArn))
        {
            throw KmsError.Validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
        }

        string resource = keyIdOrArn;
        bool isArn = keyIdOrArn.StartsWith("arn:", StringComparison.Ordinal);
        if (isArn)
        {
            string[] parts = keyIdOrArn.Split(':');
            if (parts.Length != 6 || parts[1] != "aws" || parts[2] != "kms"
                || !(parts[5].StartsWith("key/", StringComparison.Ordinal) || parts[5].StartsWith("alias/", StringComparison.Ordinal)))
            {
                throw KmsError.NotFound($"Invalid arn {keyIdOrArn}");
            }

            resource = parts[5];
            if (parts[3] != region || parts[4] != Account)
            {
                // Another region's or account's key: not visible from here, as in AWS.
                throw KmsError.NotFound($"{keyIdOrArn} does not exist in {region} of account {Account}");
            }
        }

        if (resource.StartsWith("alias/", StringComparison.Ordinal))
        {
            if (!aliases)
            {
                throw KmsError.NotFound($"Invalid keyId {keyIdOrArn}: this operation takes a key id or key ARN, not an alias");
            }

            return FindByAlias(keys, resource)
                ?? throw KmsError.NotFound($"Alias {AliasArnOf(resource, region)} is not found.");
        }

        string id = isArn ? resource["key/".Length..] : resource;
        return keys.Find(k => k.KeyId == id && !IsDestroyed(k))
            ?? throw KmsError.NotFound($"Key '{ArnOf(id, region)}' does not exist");
    }

    /// <summary>The live key <paramref name="aliasName"/> points to, or null.</summary>
    public KeyRecord? FindByAlias(List<KeyRecord> keys, string aliasName) =>
        keys.Find(k => !IsDestroyed(k) && k.Aliases.Exists(a => a.Name == aliasName));

    public KeyRecord NewKey(string description)
    {
        string id = Guid.NewGuid().ToString();
        return new KeyRecord
        {
            KeyId = id,
            State = Enabled,
            Created = Now,
            Description = description,
            Material = RandomNumberGenerator.GetBytes(Aead.KeySize),
        };
    }

    /// <summary>A key's ARN as seen from <paramref name="region"/>: the local KMS keeps one set of
    /// keys and names them in the region each request is signed for.</summary>
    public static string ArnOf(string keyId, string region) => $"arn:aws:kms:{region}:{Account}:key/{keyId}";

    /// <summary>An alias's ARN, <c>arn:aws:kms:REGION:ACCOUNT:alias/NAME</c>.</summary>
    public static string AliasArnOf(string aliasName, string region) => $"arn:aws:kms:{region}:{Account}:{aliasName}";

    public bool IsDestroyed(KeyRecord key) => key.State == PendingDeletion && key.DeletionDate is DateTimeOffset at && at <= Now;

    private FileStream AcquireFileLock()
    {
        long deadline = Environment.TickCount64 + (long)LockTimeout.TotalMilliseconds;
        while (true)
        {
            try
            {
                return new FileStream(_lockPath, PrivateFile(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (Environment.TickCount64 < deadline)
            {
                Thread.Sleep(5);
            }
        }
    }

    private void Reload()
    {
        var info = new FileInfo(_path);
        if (!info.Exists)
        {
            _keys = [];
            _loadedVersion = null;
            return;
        }

        (DateTime, long) version = (info.LastWriteTimeUtc, info.Length);
        if (_loadedVersion == version)
        {
            return;
        }

        try
        {
            byte[] bytes = File.ReadAllBytes(_path);
            _keys = JsonSerializer.Deserialize<List<KeyRecord>>(bytes, Json) ?? [];
            _loadedVersion = version;
        }
        catch (JsonException e)
        {
            throw new KmsError($"{_path} is not a local KMS key file: {e.Message}", e);
        }
    }

    private void Save()
    {
        string temp = _path + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, PrivateFile(FileMode.CreateNew, FileAccess.Write, FileShare.None)))
            {
                JsonSerializer.Serialize(stream, _keys, Json);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, _path, overwrite: true);
            SyncDirectory(DataDir);
        }
        finally
        {
            File.Delete(temp);
        }

        var info = new FileInfo(_path);
        _loadedVersion = (info.LastWriteTimeUtc, info.Length);
    }

    /// <summary>Options that create the file readable and writable by its owner only (0600).</summary>
    private static FileStreamOptions PrivateFile(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return options;
    }

    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // .NET cannot open a directory as a file, so fsync it through libc to make the rename durable.
        int fd = NativeMethods.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            _ = NativeMethods.Fsync(fd);
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }
}

/// <summary>One key as persisted. <see cref="ToString"/> never shows the material.</summary>
internal sealed class KeyRecord
{
    public required string KeyId { get; init; }

    public required string State { get; set; }

    public required DateTimeOffset Created { get; init; }

    public DateTimeOffset? DeletionDate { get; set; }

    public int? PendingWindowInDays { get; set; }

    public string Description { get; init; } = string.Empty;

    /// <summary>The 256-bit AES key (base64 in the file, which is why the file is 0600).</summary>
    [JsonPropertyName("Material")]
    public required byte[] Material { get; init; }

    /// <summary>The aliases pointing to this key (an alias points to one key; a key may have many).
    /// Kept with the key so that destroying the key removes them, as AWS deletes a deleted key's aliases.</summary>
    public List<AliasRecord> Aliases { get; init; } = [];

    public LocalKmsKey ToPublic(string region) =>
        new(KeyId, KmsKeyStore.ArnOf(KeyId, region), State, Created, State == KmsKeyStore.PendingDeletion ? DeletionDate : null, Description);

    public override string ToString() => $"KeyRecord({KeyId}, {State})";
}

/// <summary>One alias as persisted with its key.</summary>
internal sealed class AliasRecord
{
    /// <summary>The full name, <c>alias/NAME</c>.</summary>
    public required string Name { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset LastUpdated { get; set; }

    public LocalKmsAlias ToPublic(string targetKeyId, string region) =>
        new(Name, KmsKeyStore.AliasArnOf(Name, region), targetKeyId, Created, LastUpdated);
}

/// <summary>The three libc calls needed to fsync a directory.</summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    internal static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}
