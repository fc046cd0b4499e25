using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engine.KmsLocal;

/// <summary>
/// The local KMS's keys, persisted in <c>keys.json</c> in the data directory (mode 0600, replaced
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

    /// <summary>Finds a live key by id or ARN; aliases are not supported.</summary>
    public KeyRecord Find(List<KeyRecord> keys, string? keyIdOrArn)
    {
        if (string.IsNullOrWhiteSpace(keyIdOrArn))
        {
            throw KmsError.Validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
        }

        string id = keyIdOrArn;
        if (keyIdOrArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            string[] parts = keyIdOrArn.Split(':');
            if (parts.Length != 6 || parts[2] != "kms" || !parts[5].StartsWith("key/", StringComparison.Ordinal))
            {
                throw KmsError.NotFound($"Invalid arn {keyIdOrArn}");
            }

            id = parts[5]["key/".Length..];
        }
        else if (keyIdOrArn.StartsWith("alias/", StringComparison.Ordinal))
        {
            throw KmsError.NotFound($"Alias {keyIdOrArn} is not found.");
        }

        KeyRecord? key = keys.Find(k => k.KeyId == id && !IsDestroyed(k));
        if (key is null || (keyIdOrArn.StartsWith("arn:", StringComparison.Ordinal) && key.Arn != keyIdOrArn))
        {
            throw KmsError.NotFound($"Key '{ArnOf(id)}' does not exist");
        }

        return key;
    }

    public KeyRecord NewKey(string description)
    {
        string id = Guid.NewGuid().ToString();
        return new KeyRecord
        {
            KeyId = id,
            Arn = ArnOf(id),
            State = Enabled,
            Created = Now,
            Description = description,
            Material = RandomNumberGenerator.GetBytes(32),
        };
    }

    public string ArnOf(string keyId) => $"arn:aws:kms:{Region}:{Account}:key/{keyId}";

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

    public required string Arn { get; init; }

    public required string State { get; set; }

    public required DateTimeOffset Created { get; init; }

    public DateTimeOffset? DeletionDate { get; set; }

    public int? PendingWindowInDays { get; set; }

    public string Description { get; init; } = string.Empty;

    /// <summary>The 256-bit AES key (base64 in the file, which is why the file is 0600).</summary>
    [JsonPropertyName("Material")]
    public required byte[] Material { get; init; }

    public LocalKmsKey ToPublic() => new(KeyId, Arn, State, Created, State == KmsKeyStore.PendingDeletion ? DeletionDate : null, Description);

    public override string ToString() => $"KeyRecord({Arn}, {State})";
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
