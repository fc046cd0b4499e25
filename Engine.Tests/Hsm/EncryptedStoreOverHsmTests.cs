using System.Diagnostics;
using Engine.Cmek.Pkcs11;
using Engine.Tests.Support;
using Xunit.Abstractions;

namespace Engine.Tests.Hsm;

/// <summary>
/// A whole <see cref="EncryptedStore"/> whose CMEK is a key in a SoftHSM2 token: created with
/// <c>StoreOptions.CmekUri = "pkcs11:..."</c>, reopened from its directory, token traffic constant in the number
/// of operations, and a wrong PIN failing the open without touching a byte of the store.
/// </summary>
[Collection(HsmGroup.Name)]
public sealed class EncryptedStoreOverHsmTests(ITestOutputHelper output)
{
    [Fact]
    public void Store_round_trips_and_reopens_from_its_directory_through_the_token()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("store-cmek");
        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri }))
        {
            Assert.StartsWith("pkcs11:token=" + token.Label, store.CmekUri, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Pin, store.CmekUri, StringComparison.Ordinal);
            store.GetNamespace("orders").Put("o-1", "first");
            store.Flush();
            store.GetNamespace("orders").Put("o-2", "second");
        }

        // Knowing only the directory: the registry remembers the pkcs11: URI (never the PIN).
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }))
        {
            Assert.Equal("first", store.GetNamespace("orders").Get("o-1"));
            Assert.Equal("second", store.GetNamespace("orders").Get("o-2"));
        }

        foreach (string file in Directory.EnumerateFiles(dir.StorePath, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(token.Pin, File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_wrong_or_changed_pin_fails_the_open_with_key_unavailable_and_leaves_every_file_byte_identical()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("store-cmek");
        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri }))
        {
            store.GetNamespace("n").Put("k", "v");
        }

        Dictionary<string, byte[]> before = Snapshot(dir.StorePath);

        // The PIN file now holds a wrong PIN.
        File.WriteAllText(token.PinFile, "0000-wrong\n");
        var e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }));
        Assert.Equal("CKR_PIN_INCORRECT", e.CmekErrorCode);
        Assert.Equal(CmekFailureKind.Revoked, e.FailureKind);
        Assert.DoesNotContain("0000-wrong", e.ToString(), StringComparison.Ordinal);
        AssertUnchanged(before, dir.StorePath);

        // The operator changed the token's PIN; the application's PIN file still holds the old one.
        File.WriteAllText(token.PinFile, token.Pin + "\n");
        SoftHsm.Run("pkcs11-tool", "--module", SoftHsm.ModulePath, "--token-label", token.Label, "--login", "--pin", token.Pin, "--change-pin", "--new-pin", "changed-9999");
        e = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false }));
        Assert.Equal("CKR_PIN_INCORRECT", e.CmekErrorCode);
        AssertUnchanged(before, dir.StorePath);

        // With the new PIN in the file, the store opens with nothing lost.
        File.WriteAllText(token.PinFile, "changed-9999\n");
        using EncryptedStore reopened = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CreateIfMissing = false });
        Assert.Equal("v", reopened.GetNamespace("n").Get("k"));
    }

    [Fact]
    public void Token_calls_per_million_operations_are_one_open_plus_one_call_per_check()
    {
        SoftHsm.Token token = SoftHsm.CreateToken();
        string uri = token.CreateKey("store-cmek");
        using var dir = new TestStoreDirectory();
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, CmekUri = uri }))
        {
            store.GetNamespace("orders").Put("seed", "x");
        }

        TimeSpan interval = TimeSpan.FromSeconds(1);
        using var cmek = Pkcs11Cmek.Open(uri);
        var sw = Stopwatch.StartNew();
        long openCalls;
        long total;
        int operations = 0;
        using (EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = dir.StorePath, Cmek = cmek, CmekCheckInterval = interval }))
        {
            openCalls = cmek.CallCount;
            StoreNamespace orders = store.GetNamespace("orders");
            for (int i = 0; i < 500_000; i++)
            {
                orders.Put($"k{i % 500}", $"v{i}");
                _ = orders.Get($"k{(i * 7) % 500}");
                operations += 2;
            }

            total = cmek.CallCount;
        }

        // Open: C_GetFunctionList + C_Initialize (first user of the module), C_GetSlotList x2, C_GetTokenInfo per
        // slot, C_OpenSession, C_Logout, C_Login, C_FindObjects{Init,,Final}, C_GetAttributeValue, C_OpenSession
        // (the pooled one), C_DecryptInit + C_Decrypt: 14 plus one per slot. SoftHSM lists each token of the
        // test's token directory and one free slot.
        int slots = Directory.GetDirectories(Path.Combine(SoftHsm.Root, "tokens")).Length + 1;
        TimeSpan elapsed = sw.Elapsed;
        long checksAllowed = (long)(elapsed / interval) + 1;
        output.WriteLine($"PKCS#11 calls: {openCalls} at open ({slots} slots) (connect + one unwrap), {total} after {operations:N0} operations in {elapsed.TotalSeconds:F1} s with a {interval.TotalSeconds:F0} s check interval ({total - openCalls} during the operations; at most {checksAllowed} checks of one call each)");
        Assert.InRange(openCalls, 14, 14 + slots);
        Assert.InRange(total - openCalls, 0, checksAllowed);
    }

    internal static Dictionary<string, byte[]> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes, StringComparer.Ordinal);

    internal static void AssertUnchanged(Dictionary<string, byte[]> before, string root)
    {
        Dictionary<string, byte[]> after = Snapshot(root);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string file, byte[] bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[file]), $"{file} changed");
        }
    }
}
