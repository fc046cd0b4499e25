using Engine.Crypto;
using Engine.Testing;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

/// <summary>
/// Creating a store is all or nothing, whatever the CMEK provider (issue 11): when the CMEK cannot wrap
/// the new root key, the open leaves nothing at the target: the directories it made are gone, and a
/// directory that existed empty before is still there and still empty.
/// </summary>
public sealed class CreateAllOrNothingTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<bool, bool> Cases => new()
    {
        { true, false }, // revoked, missing directory
        { false, false }, // transient, missing directory
        { true, true }, // revoked, existing empty directory
        { false, true }, // transient, existing empty directory
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_create_the_cmek_refuses_leaves_nothing_behind(bool revoked, bool directoryExisted)
    {
        string parent = Path.Combine(_dir.Root, "parent");
        string store = directoryExisted ? _dir.StorePath : Path.Combine(parent, "store");
        if (directoryExisted)
        {
            Directory.CreateDirectory(store);
        }
        using var cmek = new TestCmek();
        if (revoked)
        {
            cmek.Revoke();
        }
        else
        {
            cmek.MakeTransient();
        }
        var options = new StoreOptions { Path = store, Cmek = cmek };

        Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(options));
        AssertNothingLeft();
        await Assert.ThrowsAsync<KeyUnavailableException>(() => EncryptedStore.OpenAsync(options));
        AssertNothingLeft();

        // The same target creates a working store once the key answers.
        cmek.Restore();
        using (EncryptedStore created = EncryptedStore.Open(options))
        {
            created.GetNamespace("n").Put("k", "v");
        }
        using EncryptedStore reopened = EncryptedStore.Open(options);
        Assert.Equal("v", reopened.GetNamespace("n").Get("k"));

        void AssertNothingLeft()
        {
            Assert.True(cmek.FailureCount >= 1, "the CMEK was never asked");
            Assert.False(EncryptedStore.Exists(store));
            if (directoryExisted)
            {
                Assert.True(Directory.Exists(store), "the open removed a directory it did not create");
                Assert.Empty(Directory.EnumerateFileSystemEntries(store));
            }
            else
            {
                Assert.False(Directory.Exists(store), $"the failed create left {store} behind");
                Assert.False(Directory.Exists(parent), $"the failed create left the parent it made, {parent}, behind");
            }
        }
    }
}
