using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Engine.Crypto;

/// <summary>
/// A CMEK kept in a local file: 32 raw random bytes, readable by its owner only (mode 0600).
/// The embedded default for development and single-machine deployments; production stores use a
/// KMS so that the key can be revoked without access to the machine.
/// </summary>
/// <remarks>
/// Wrapped keys have the layout <c>0x01 || nonce (12) || ciphertext || tag (16)</c>, sealed with
/// AES-256-GCM under the file's key with associated data <c>"EKV-CMEK1" || context</c>.
/// The key is held in pinned memory and zeroed by <see cref="Dispose"/>. Thread-safe.
/// </remarks>
public sealed partial class LocalKeyFileCmek : ICmekProvider, ICmekHealthCheck
{
    /// <summary>Size of the key file in bytes (a 256-bit AES key).</summary>
    public const int KeyFileSize = 32;

    private const byte WrapVersion = 1;
    private const int NonceSize = Aead.NonceSize;
    private const int TagSize = Aead.TagSize;
    private const UnixFileMode ForbiddenModes =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private static readonly byte[] AadPrefix = "EKV-CMEK1"u8.ToArray();

    private readonly OpaqueKey _key;

    private LocalKeyFileCmek(string fullPath, ReadOnlySpan<byte> material)
    {
        Path = fullPath;
        Uri = "file:" + fullPath;
        _key = OpaqueKey.FromMaterial($"LocalKeyFileCmek({Uri})", material);
    }

    /// <summary>Absolute path of the key file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public string Uri { get; }

    /// <summary>True after <see cref="Dispose"/> (tests check the key was zeroed).</summary>
    internal bool IsDisposed => _key.IsDisposed;

    internal bool IsZeroed => _key.IsZeroed;

    /// <summary>
    /// Creates a key file with a new 256-bit key from the CSPRNG, mode 0600 from the moment the
    /// file exists, and returns a provider for it. The file appears atomically under its final
    /// name (written and fsynced under a temporary name first), so a crash never leaves a short
    /// key file behind.
    /// </summary>
    /// <param name="path">Where to create the file; relative paths are resolved to absolute.
    /// The directory must exist.</param>
    /// <exception cref="IOException">A file already exists at <paramref name="path"/> (it is never
    /// overwritten), or the file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static LocalKeyFileCmek Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            throw new IOException($"refusing to overwrite the existing file {full} with a new CMEK key");
        }

        string directory = System.IO.Path.GetDirectoryName(full) ?? throw new ArgumentException($"{full} has no parent directory", nameof(path));
        string temp = full + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) + ".tmp";
        byte[] material = GC.AllocateArray<byte>(KeyFileSize, pinned: true);
        try
        {
            RandomNumberGenerator.Fill(material);
            DurableIo.WriteAndSync(temp, material, FileMode.CreateNew, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            try
            {
                // No overwrite: on Unix this is link()+unlink(), which fails if `full` appeared meanwhile.
                File.Move(temp, full, overwrite: false);
            }
            catch (IOException) when (File.Exists(full))
            {
                throw new IOException($"refusing to overwrite the existing file {full} with a new CMEK key");
            }

            DurableIo.SyncDirectory(directory);
            return new LocalKeyFileCmek(full, material);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
            TryDelete(temp);
        }
    }

    /// <summary>Opens an existing key file.</summary>
    /// <param name="path">The key file; relative paths are resolved to absolute.</param>
    /// <exception cref="KeyUnavailableException">
    /// The file is missing or unreadable, is not exactly <see cref="KeyFileSize"/> bytes, or is
    /// readable or writable by group or others (the message names the path, its mode and the
    /// fix: <c>chmod 600</c>).
    /// </exception>
    public static LocalKeyFileCmek Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KeyUnavailableException($"the CMEK key file {full} does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyUnavailableException($"the CMEK key file {full} cannot be read: {e.Message}", e);
        }

        using (handle)
        {
            if (!OperatingSystem.IsWindows())
            {
                UnixFileMode mode = File.GetUnixFileMode(handle);
                if ((mode & ForbiddenModes) != 0)
                {
                    string octal = Convert.ToString((int)mode, 8).PadLeft(4, '0');
                    throw new KeyUnavailableException(
                        $"refusing to use the CMEK key file {full}: its mode is {octal}, so other users can read or write it. " +
                        $"Restrict it to its owner with: chmod 600 '{full}'");
                }
            }

            long length = RandomAccess.GetLength(handle);
            if (length != KeyFileSize)
            {
                throw new KeyUnavailableException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"the CMEK key file {full} is {length} bytes; a key file holds exactly {KeyFileSize} bytes (is this the right file?)"));
            }

            byte[] material = GC.AllocateArray<byte>(KeyFileSize, pinned: true);
            try
            {
                int read = 0;
                while (read < KeyFileSize)
                {
                    int n = RandomAccess.Read(handle, material.AsSpan(read), read);
                    if (n == 0)
                    {
                        throw new KeyUnavailableException($"the CMEK key file {full} shrank while it was being read");
                    }

                    read += n;
                }

                return new LocalKeyFileCmek(full, material);
            }
            catch (IOException e)
            {
                throw new KeyUnavailableException($"the CMEK key file {full} cannot be read: {e.Message}", e);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(material);
            }
        }
    }

    /// <inheritdoc/>
    public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Wrap(key.Span, context.Span));
    }

    /// <inheritdoc/>
    public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Unwrap(wrapped.Span, context.Span));
    }

    /// <summary>Zeroes the key. Idempotent.</summary>
    public void Dispose() => _key.Dispose();

    /// <summary>Names the key file; never the key.</summary>
    public override string ToString() => $"LocalKeyFileCmek({Uri})";

    private byte[] Wrap(ReadOnlySpan<byte> key, ReadOnlySpan<byte> context)
    {
        byte[] wrapped = new byte[1 + NonceSize + key.Length + TagSize];
        wrapped[0] = WrapVersion;
        byte[] aad = Aad(context);
        bool leased = _key.TryLease(out KeyLease lease);
        ObjectDisposedException.ThrowIf(!leased, this);

        using (lease)
        {
            Aead.Seal(lease.Key, wrapped.AsSpan(1, NonceSize), key, wrapped.AsSpan(1 + NonceSize, key.Length), wrapped.AsSpan(1 + NonceSize + key.Length), aad);
        }

        return wrapped;
    }

    private byte[] Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> context)
    {
        if (wrapped.Length < 1 + NonceSize + TagSize || wrapped[0] != WrapVersion)
        {
            throw new KeyUnavailableException($"the CMEK at {Uri} cannot unwrap this blob: it is not a key wrapped by a local key file (wrong kind of CMEK, or damaged)");
        }

        int length = wrapped.Length - 1 - NonceSize - TagSize;
        byte[] key = GC.AllocateArray<byte>(length, pinned: true);
        byte[] aad = Aad(context);
        bool leased = _key.TryLease(out KeyLease lease);
        ObjectDisposedException.ThrowIf(!leased, this);

        using (lease)
        {
            try
            {
                Aead.Open(lease.Key, wrapped.Slice(1, NonceSize), wrapped.Slice(1 + NonceSize, length), wrapped[^TagSize..], key, aad);
            }
            catch (AuthenticationTagMismatchException e)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new KeyUnavailableException($"the CMEK at {Uri} does not unwrap this store's root key (wrong key?)", e);
            }
        }

        return key;
    }

    private static byte[] Aad(ReadOnlySpan<byte> context)
    {
        byte[] aad = new byte[AadPrefix.Length + context.Length];
        AadPrefix.CopyTo(aad, 0);
        context.CopyTo(aad.AsSpan(AadPrefix.Length));
        return aad;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary holds no key once moved; if the move failed it is removed here.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
