using Engine.Crypto;
using Engine.Files;

namespace Engine.Tests.Rotation;

/// <summary>Assertions over a store's key status and its files' headers.</summary>
internal static class KeyAssert
{
    /// <summary>Every live file of every scope is under the current version, which is the only one held;
    /// shares add up; both header slots of every file name the current version.</summary>
    public static void AllCurrent(EncryptedStore store, bool bothSlots = true)
    {
        KeyStatusReport status = store.Keys.Status();
        foreach (ScopeKeyStatus scope in status.Scopes)
        {
            Assert.False(scope.RotationInProgress, $"{scope.Name}: rotation still in progress");
            Assert.Equal([scope.CurrentVersion], scope.RegistryVersions);
            Assert.All(scope.Versions.Where(v => v.Files > 0), v => Assert.Equal(scope.CurrentVersion, v.Version));
            Assert.Equal(0, scope.UnreadableFiles);
            SharesAddUp(scope);
            if (bothSlots)
            {
                foreach (string file in ScopeFiles(store, scope))
                {
                    (FileHeaderInfo? active, FileHeaderInfo? other) = HeaderSlots.ReadBoth(file);
                    if (active is null)
                    {
                        continue; // deleted meanwhile, or 0 bytes
                    }

                    Assert.True(scope.CurrentVersion == active.Value.KekVersion,
                        $"{file}: the active header slot names {scope.Name} KEK version {active.Value.KekVersion}, the current one is {scope.CurrentVersion} ({new FileInfo(file).Length} bytes)");
                    if (other is FileHeaderInfo o)
                    {
                        Assert.True(scope.CurrentVersion == o.KekVersion,
                            $"{file}: the other header slot names {scope.Name} KEK version {o.KekVersion}, the current one is {scope.CurrentVersion}");
                    }
                }
            }
        }
    }

    public static void SharesAddUp(ScopeKeyStatus scope)
    {
        if (scope.Files == 0)
        {
            return;
        }

        Assert.Equal(1.0, scope.Versions.Sum(v => v.FileShare), 9);
        Assert.Equal(1.0, scope.Versions.Sum(v => v.ByteShare), 9);
        Assert.Equal(scope.Files, scope.Versions.Sum(v => v.Files));
    }

    public static IReadOnlyList<string> ScopeFiles(EncryptedStore store, ScopeKeyStatus scope) => store.Run(s =>
    {
        using StoreFiles files = StoreFiles.Open(s);
        return files.ScopeFiles(store.Layout, scope.NamespaceId is uint id ? KeyScope.ForNamespace(id) : KeyScope.System);
    });
}
