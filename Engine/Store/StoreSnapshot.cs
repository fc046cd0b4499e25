using Engine.Crypto;
using RocksDbSharp;

namespace Engine;

/// <summary>
/// A consistent, read-only view of every namespace of an <see cref="EncryptedStore"/> at the moment
/// <see cref="EncryptedStore.CreateSnapshot"/> returned: reads through it (<see cref="StoreNamespace.Get(ReadOnlySpan{byte}, StoreSnapshot)"/>,
/// <see cref="StoreNamespace.MultiGet"/>, <see cref="StoreNamespace.Scan(byte[], byte[], StoreSnapshot)"/>,
/// <see cref="CursorOptions.Snapshot"/>) see neither later writes nor later deletes.
/// </summary>
/// <remarks>
/// A snapshot pins old versions of the data (compaction keeps what it can still see), so dispose it when
/// done. A lock of the store releases it (the database closes underneath): its use then throws
/// <see cref="StoreLockedException"/>, also after the store unlocked again. Disposing it after a lock or
/// after the store closed is harmless. Reads through one snapshot may run on several threads at once;
/// do not dispose it while another thread reads through it.
/// </remarks>
public sealed class StoreSnapshot : IDisposable, ISessionResource
{
    private readonly EncryptedStore _store;
    private readonly Lock _sync = new();
    private StoreSession? _session; // null once released by a lock or close, or disposed
    private nint _handle;
    private ReadOptions? _read;
    private bool _disposed;
    private bool _releasedByClose;

    internal StoreSnapshot(EncryptedStore store, StoreSession session)
    {
        _store = store;
        _session = session;
        _handle = Native.Instance.rocksdb_create_snapshot(session.Db.Handle);
        _read = new ReadOptions();
        Native.Instance.rocksdb_readoptions_set_snapshot(_read.Handle, _handle);
    }

    /// <summary>
    /// The read options pinned to this snapshot, for a read inside the gate in <paramref name="session"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The snapshot belongs to another store.</exception>
    /// <exception cref="ObjectDisposedException">The snapshot was disposed.</exception>
    /// <exception cref="StoreLockedException">A lock released the snapshot.</exception>
    internal ReadOptions ReadOptionsIn(EncryptedStore store, StoreSession session)
    {
        lock (_sync)
        {
            _ = HandleIn(store, session);
            return _read!;
        }
    }

    /// <summary>The RocksDB snapshot, for a read inside the gate in <paramref name="session"/>.</summary>
    /// <inheritdoc cref="ReadOptionsIn" path="/exception"/>
    internal nint HandleIn(EncryptedStore store, StoreSession session)
    {
        if (!ReferenceEquals(store, _store))
        {
            throw new ArgumentException("The snapshot was created by another store.", nameof(store));
        }
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_session is null || !ReferenceEquals(_session, session) || _read is null)
            {
                throw _releasedByClose
                    ? new ObjectDisposedException(nameof(StoreSnapshot), "The snapshot's store is closed.")
                    : new StoreLockedException("the snapshot was released when the store locked; create a new one", DateTimeOffset.UtcNow);
            }
            return _handle;
        }
    }

    /// <summary>Releases the RocksDB snapshot. Idempotent; harmless after a lock or close of the store.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        // Inside the gate, so the session cannot close under the release; a closed gate means the
        // lock or close released the snapshot already (or is about to, with the gate drained).
        try
        {
            _store.EnterGate();
        }
        catch (Exception e) when (e is StoreLockedException or ObjectDisposedException)
        {
            return;
        }
        try
        {
            ReleaseNative();
        }
        finally
        {
            _store.ExitGate();
        }
        _store.Untrack(this);
    }

    /// <summary>Called by the store on lock or close, with the gate drained.</summary>
    void ISessionResource.Release(bool storeClosing)
    {
        lock (_sync)
        {
            _releasedByClose = storeClosing;
        }
        ReleaseNative();
    }

    private void ReleaseNative()
    {
        lock (_sync)
        {
            if (_session is null)
            {
                return;
            }
            Native.Instance.rocksdb_release_snapshot(_session.Db.Handle, _handle);
            _handle = 0;
            _read = null; // RocksDbSharp's ReadOptions frees itself when collected; it only points at the snapshot
            _session = null;
        }
    }
}
