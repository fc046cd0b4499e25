using Engine.Backup;

namespace Engine.Tests.Model;

/// <summary>
/// Backup of the running store, then restore into a new directory and open there: the restored store
/// equals the model at backup time (every namespace, every entry). Directory stores only; the live
/// store and the model are unchanged. Backups accumulate in one directory per run, so later ones are
/// incremental (they share SSTs with earlier ones).
/// </summary>
internal sealed class BackupRestoreOp : StoreOp
{
    public override bool Pre(StoreModel model) =>
        model.Setup.Backend == StoreBackend.Directory && model.State == ModelState.Open && model.Cmek == Engine.Testing.TestCmekAvailability.Available;

    protected override StoreModel Next(StoreModel model) => model;

    protected override void Execute(StoreHarness harness, StoreModel expected)
    {
        string store = harness.StorePath ?? throw new InvalidOperationException("a directory store has a path");
        string backups = store + ".backups";
        BackupInfo info = harness.Store.Backups.CreateAsync(backups).GetAwaiter().GetResult();
        string target = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{store}.restored-{info.Id}");
        StoreBackups.RestoreAsync(backups, info.Id, target, harness.Cmek).GetAwaiter().GetResult();
        StoreOptions options = harness.Options();
        options.Path = target;
        options.CreateIfMissing = false;
        try
        {
            using EncryptedStore restored = EncryptedStore.Open(options);
            ModelCheck.That(restored.StoreId == harness.Store.StoreId, "the restored store has another store id");
            string[] names = [.. expected.AllNamespaceNames];
            IReadOnlyList<string> listed = restored.ListNamespaces();
            ModelCheck.That(names.SequenceEqual(listed), $"restored namespaces are [{string.Join(", ", listed)}], the model has [{string.Join(", ", names)}]");
            foreach (string name in expected.Namespaces.Keys)
            {
                ModelCheck.NamespaceMatches(restored, name, expected.Entries(name));
            }
        }
        finally
        {
            Engine.Files.StoreFiles.TryDeleteTreeOnDisk(target);
        }
    }

    public override string ToString() => "BackupRestore";
}
