using System.Diagnostics;
using RocksDbSharp;

namespace Engine;

public sealed partial class EncryptedStore
{
    /// <summary>
    /// Takes a consistent snapshot of every namespace: reads through it see the store as it is now (see
    /// <see cref="StoreSnapshot"/>). Dispose it when done: it keeps old versions of the data alive.
    /// </summary>
    /// <exception cref="StoreLockedException">The store is locked.</exception>
    /// <exception cref="ObjectDisposedException">The store is closed.</exception>
    public StoreSnapshot CreateSnapshot() => Run(s =>
    {
        // Created and tracked inside the gate: a lock releases it before the database closes.
        var snapshot = new StoreSnapshot(this, s);
        Track(snapshot);
        return snapshot;
    });

    /// <summary>Starts a batch of writes that may span namespaces; apply it with <see cref="Write"/>.</summary>
    public StoreWriteBatch CreateWriteBatch() => new(this);

    /// <summary>Applies every operation of <paramref name="batch"/> atomically.</summary>
    /// <param name="batch">The batch; it can be reused or disposed afterwards.</param>
    /// <param name="sync">Fsync the write-ahead log before returning; null uses <see cref="StoreOptions.SyncWrites"/>.</param>
    /// <exception cref="ArgumentException">The batch was created by another store.</exception>
    /// <exception cref="IntegrityException">Stored data failed authentication.</exception>
    /// <exception cref="ObjectDisposedException">The store or the batch is disposed.</exception>
    public void Write(StoreWriteBatch batch, bool? sync = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ThrowIfReadOnly("Write");
        WriteBatch native = batch.Batch;
        Run((Batch: native, Options: WriteOptionsFor(sync)), static (s, a) =>
        {
            s.Db.Write(a.Batch, a.Options);
            return true;
        });
        _telemetry.Batch(batch.PayloadBytes);
    }

    /// <summary>Writes every namespace's memtable to encrypted SST files and waits for it.</summary>
    /// <exception cref="IntegrityException">A file failed authentication.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    public void Flush() => Flush(CancellationToken.None);

    /// <summary>Writes every namespace's memtable to encrypted SST files and waits for it.</summary>
    /// <param name="ct">Checked before each namespace's flush: namespaces flushed so far stay flushed (a flush never loses data).</param>
    /// <exception cref="IntegrityException">A file failed authentication.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    public void Flush(CancellationToken ct)
    {
        ThrowIfReadOnly("Flush");
        ct.ThrowIfCancellationRequested();
        using Activity? activity = _telemetry.StartActivity("engine.store.flush");
        Run(s =>
        {
            var flush = new FlushOptions().SetWaitForFlush(true);
            foreach (StoreNamespace ns in SnapshotNamespaces())
            {
                ct.ThrowIfCancellationRequested();
                Native.Instance.rocksdb_flush_cf(s.Db.Handle, flush.Handle, ns.HandleIn(s).Handle);
            }
            s.Db.Flush(flush);
        });
    }

    /// <summary>
    /// Compacts every namespace fully (memtable flushed, SSTs merged, deleted and overwritten entries
    /// dropped). Not a DEK rotation: files RocksDB moves without rewriting keep their data keys
    /// (<see cref="StoreKeys.RotateDataKeys"/> rewrites them all).
    /// </summary>
    /// <exception cref="IntegrityException">A file failed authentication.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    public void Compact() => Compact(CancellationToken.None);

    /// <summary>
    /// Compacts every namespace's whole key range (RocksDB's manual compaction: files merge down to the
    /// last level; a file already alone at the last level is left as it is). To rewrite every file under a
    /// fresh data key, use <see cref="StoreKeys.RotateDataKeys"/>.
    /// </summary>
    /// <param name="ct">Checked before each namespace's compaction (one that runs finishes: RocksDB's C API cannot stop it).</param>
    /// <exception cref="IntegrityException">A file failed authentication.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; namespaces compacted so far stay compacted.</exception>
    /// <exception cref="StoreReadOnlyException">The store is open read-only.</exception>
    public void Compact(CancellationToken ct)
    {
        ThrowIfReadOnly("Compact");
        ct.ThrowIfCancellationRequested();
        using Activity? activity = _telemetry.StartActivity("engine.store.compact");
        Run(s =>
        {
            foreach (StoreNamespace ns in SnapshotNamespaces())
            {
                ct.ThrowIfCancellationRequested();
                s.Db.CompactRange((byte[]?)null, null, ns.HandleIn(s));
            }
        });
    }

    /// <summary>
    /// True when <paramref name="ns"/> is this store's live instance of its name. Every instance is
    /// registered in _namespaces when created and flagged when removed, so no lookup is needed.
    /// </summary>
    internal bool Owns(StoreNamespace ns) => ReferenceEquals(ns.Store, this) && !ns.Removed;

    internal StoreNamespace[] SnapshotNamespaces()
    {
        lock (_namespaceSync)
        {
            return [.. _namespaces.Values];
        }
    }
}
