// README-SAMPLE-BEGIN
using Engine;
using Engine.Testing;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace MyApp.Tests;

// The application's code: a profile service over the store.
public sealed record Response(int Status, byte[]? Body);

public sealed class ProfileService(EncryptedStore store)
{
    public Response Get(string tenant, byte[] user)
    {
        try
        {
            byte[]? profile = store.GetNamespace(tenant).Get(user);
            return profile is null ? new Response(404, null) : new Response(200, profile);
        }
        catch (StoreLockedException)
        {
            return new Response(503, null); // the customer revoked the key: unavailable, retry later
        }
    }
}

// The application's property: whatever the tenant, user and profile, the service answers 503
// while the store is locked and the profile again once the customer restores the key.
public sealed class ProfileServiceProperties
{
    [Fact]
    public void Service_returns_503_while_the_store_is_locked()
    {
        using var cmek = new TestCmek();                  // a CMEK the test can revoke and restore
        using var memory = InMemoryStore.Open(cmek);      // in memory, still encrypted by the plugin
        var service = new ProfileService(memory.Store);

        Prop.ForAll(EngineArbitraries.NamespaceName(), EngineArbitraries.Key(), EngineArbitraries.Value(), (tenant, user, profile) =>
        {
            memory.Store.GetNamespace(tenant).Put(user, profile);

            cmek.Revoke();                                // the customer disables the key in their KMS
            memory.Store.RunCmekCheck();                  // the store's next CMEK check, without waiting for it
            Response whileLocked = service.Get(tenant, user);

            cmek.Restore();                               // the key is back
            memory.Store.RunCmekCheck();                  // the store unlocks itself (AutoUnlock)
            Response afterwards = service.Get(tenant, user);

            return whileLocked.Status == 503
                && afterwards.Status == 200 && afterwards.Body.AsSpan().SequenceEqual(profile);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }
}
// README-SAMPLE-END
