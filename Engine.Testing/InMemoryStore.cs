using Engine.Crypto;
using Engine.Interop;

namespace Engine.Testing;

/// <summary>
/// An <see cref="EncryptedStore"/> whose database files live in memory (RocksDB's in-memory env) and
/// still go through the encryption plugin: every file is sealed in AES-256-GCM frames under its own
/// data key, namespaces have their own key-encryption keys, and the lock state machine, key checks
/// and errors are the real ones. For fast property tests of applications that embed the engine.
/// </summary>
/// <remarks>
/// <para>
/// The in-memory files belong to this object, not to one <see cref="EncryptedStore"/>: a store that
/// locks and unlocks, or that is closed and opened again with <see cref="Reopen"/>, finds its data
/// again, exactly as on disk. Everything is gone after <see cref="Dispose"/>.
/// </para>
/// <para>
/// The key registry (the small file holding the wrapped root and namespace keys) is written by
/// managed code, not through RocksDB's env, so it cannot live in the in-memory env. It goes to a
/// private directory created for this object (under <c>/dev/shm</c> when that exists, so nothing
/// reaches a disk; otherwise under the temp directory) and deleted by <see cref="Dispose"/>. That
/// directory is also <see cref="EncryptedStore.Path"/>; it holds the registry (encrypted) and empty
/// namespace directories, never data.
/// </para>
/// <para>
/// Differences from a store on disk: a process crash loses everything (there is no disk); closing
/// is always clean. <see cref="EncryptedStore.Verify()"/> checks the in-memory files as it checks files
/// on disk. Use a directory store to test crash recovery.
/// </para>
/// </remarks>
public sealed class InMemoryStore : IDisposable
{
    private readonly MemoryFileSystemHandle _files;
    private readonly Action<StoreOptions>? _configure;
    private readonly ICmekProvider? _ownedCmek;
    private readonly Lock _sync = new();
    private EncryptedStore? _store;
    private bool _disposed;

    private InMemoryStore(ICmekProvider cmek, bool ownsCmek, Action<StoreOptions>? configure)
    {
        Cmek = cmek;
        _ownedCmek = ownsCmek ? cmek : null;
        _configure = configure;
        RegistryDirectory = CreatePrivateDirectory();
        _files = MemoryFileSystemHandle.Create();
    }

    /// <summary>
    /// Creates an empty in-memory store and opens it.
    /// </summary>
    /// <param name="cmek">The customer-managed key; a new <see cref="TestCmek"/> (owned and disposed by
    /// this object) when null. A provider passed here is not disposed.</param>
    /// <param name="configure">Adjusts the options of every open (check interval, frame size, limits, ...).
    /// <see cref="StoreOptions.Path"/> and <see cref="StoreOptions.Cmek"/> are set by this class.</param>
    /// <returns>The in-memory store; <see cref="Store"/> is open.</returns>
    /// <exception cref="KeyUnavailableException">The CMEK is not available.</exception>
    public static InMemoryStore Open(ICmekProvider? cmek = null, Action<StoreOptions>? configure = null)
    {
        var memory = new InMemoryStore(cmek ?? new TestCmek("in-memory-store"), ownsCmek: cmek is null, configure);
        try
        {
            memory.Reopen();
            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>The open store.</summary>
    /// <exception cref="InvalidOperationException">The store is closed (see <see cref="Close"/>, <see cref="Reopen"/>).</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public EncryptedStore Store
    {
        get
        {
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _store ?? throw new InvalidOperationException("The in-memory store is closed; call Reopen() to open it again.");
            }
        }
    }

    /// <summary>True while <see cref="Store"/> is open.</summary>
    public bool IsOpen
    {
        get
        {
            lock (_sync)
            {
                return _store is not null && !_disposed;
            }
        }
    }

    /// <summary>
    /// The CMEK every open uses (the <see cref="TestCmek"/> created by <see cref="Open"/> when none was
    /// given; the one passed to <see cref="UseCmek"/> after a CMEK rotation).
    /// </summary>
    public ICmekProvider Cmek { get; private set; }

    /// <summary>
    /// Makes later opens (<see cref="Reopen"/>) use <paramref name="cmek"/>: call it after rotating the
    /// store to another CMEK with <see cref="StoreKeys.RotateCmek(ICmekProvider)"/>, whose root key
    /// the old CMEK no longer unwraps. The caller keeps ownership of <paramref name="cmek"/>.
    /// </summary>
    /// <param name="cmek">The store's CMEK from now on.</param>
    public void UseCmek(ICmekProvider cmek)
    {
        ArgumentNullException.ThrowIfNull(cmek);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Cmek = cmek; // a replaced CMEK created by Open is still disposed with this object
        }
    }

    /// <summary>The private directory holding the key registry; deleted by <see cref="Dispose"/>.</summary>
    public string RegistryDirectory { get; }

    /// <summary>
    /// Closes <see cref="Store"/> (if open) and opens the same in-memory files again, as a process
    /// restart would on disk: every acknowledged write is there, namespaces included.
    /// </summary>
    /// <returns>The newly opened store (also <see cref="Store"/>).</returns>
    /// <exception cref="KeyUnavailableException">The CMEK is not available; the store stays closed
    /// (call <see cref="Reopen"/> again once it is).</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public EncryptedStore Reopen()
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _store?.Dispose();
            _store = null;
            var options = new StoreOptions();
            _configure?.Invoke(options);
            options.Path = RegistryDirectory;
            options.Cmek = Cmek;
            options.CmekUri = null;
            options.CreateIfMissing = true;
            options.InMemory = true;
            options.MemoryFileSystem = _files;
            _store = EncryptedStore.Open(options);
            return _store;
        }
    }

    /// <summary>Closes <see cref="Store"/>; the data stays in memory until <see cref="Dispose"/>.</summary>
    public void Close()
    {
        lock (_sync)
        {
            _store?.Dispose();
            _store = null;
        }
    }

    /// <summary>Closes the store, frees the in-memory files and deletes <see cref="RegistryDirectory"/>. Idempotent.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _store?.Dispose();
            _store = null;
            _files.Dispose();
            _ownedCmek?.Dispose();
            try
            {
                Directory.Delete(RegistryDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the registry is encrypted, and a leaked directory must not fail a test.
            }
        }
    }

    private static string CreatePrivateDirectory()
    {
        const string shm = "/dev/shm";
        if (!OperatingSystem.IsWindows() && Directory.Exists(shm))
        {
            try
            {
                string dir = Path.Combine(shm, "ekv-inmemory-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                return dir;
            }
            catch (UnauthorizedAccessException)
            {
                // Not writable here: fall back to the temp directory.
            }
            catch (IOException)
            {
                // Same.
            }
        }
        return Directory.CreateTempSubdirectory("ekv-inmemory-").FullName;
    }
}
