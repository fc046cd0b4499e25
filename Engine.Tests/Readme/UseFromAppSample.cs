using Engine;
using Engine.Crypto;

namespace Engine.Tests.Readme;

/// <summary>README "Use it from your app": compiled here, shown verbatim there (see <see cref="ReadmeSampleTests"/>).</summary>
internal static class UseFromAppSample
{
    internal static async Task RunAsync()
    {
        // README-SAMPLE-BEGIN
        // A local key file as the CMEK (created once, mode 0600; or `tools/engine init --store DIR --cmek file:PATH`).
        if (!File.Exists("/etc/myapp/store.key"))
        {
            LocalKeyFileCmek.Create("/etc/myapp/store.key").Dispose();
        }

        using var store = EncryptedStore.Open(new StoreOptions
        {
            Path = "/var/lib/myapp/store",
            CmekUri = "file:/etc/myapp/store.key",
        });
        StoreNamespace tenant = store.GetNamespace("tenant-42");   // created on first use, own KEK
        tenant.Put("greeting", "hello");
        string? v = tenant.Get("greeting");

        using StoreWriteBatch batch = store.CreateWriteBatch();     // atomic across namespaces
        batch.Put(tenant, "a", "1").Delete(store.GetNamespace("audit"), "old");
        store.Write(batch, sync: true);

        foreach (var kv in tenant.Scan("a", "z")) { /* key order, [from, to) */ }
        store.Flush(); store.Compact();
        VerifyReport report = store.Verify();   // authenticates every frame of every file

        // Key lifecycle (docs/key-rotation.md): everything lives on store.Keys.
        await store.Keys.RotateCmekAsync("file:/etc/myapp/store-2026.key");   // re-wraps the root key
        KekRotation rotation = store.Keys.RotateNamespaceKey("tenant-42");     // new KEK now, headers re-wrapped online
        await rotation.Completion;
        KeyStatusReport status = store.Keys.Status();
        store.DeleteNamespace("tenant-42");                                     // crypto-shred: its KEK is destroyed
        // README-SAMPLE-END
        _ = (v, report, status);
    }
}
