using Engine.Backup;

namespace Engine;

public sealed partial class EncryptedStore
{
    private StoreBackups? _backups;

    /// <summary>
    /// Online, encrypted, incremental backups of this store (docs/backup.md); the static members of
    /// <see cref="StoreBackups"/> list, verify and restore them without an open store.
    /// </summary>
    public StoreBackups Backups => LazyInitializer.EnsureInitialized(ref _backups, () => new StoreBackups(this));

    /// <summary>
    /// Runs <paramref name="capture"/> inside the gate with namespace creation held off (the caller
    /// holds the key operations): the key registry cannot change while it runs.
    /// </summary>
    internal T WithRegistryFrozen<T>(Func<StoreSession, T> capture) => Run(session =>
    {
        lock (_namespaceSync)
        {
            return capture(session);
        }
    });
}
