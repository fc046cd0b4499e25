using Engine.Hosting;
using Engine.Testing;
using Engine.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Engine.Tests.Hosting;

/// <summary>
/// Engine.Hosting in a generic host (no web server): the store opens at start and closes at stop, its
/// options come from code or configuration and are validated at start, and the health check follows the
/// lock state through a revocation and a restore.
/// </summary>
public sealed class HostingTests : IDisposable
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_host_opens_the_store_reports_revocation_as_unhealthy_and_recovery_as_healthy_and_closes_it()
    {
        using var cmek = new TestCmek("hosting");
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddEncryptedStore(o =>
        {
            o.Path = _dir.StorePath;
            o.Cmek = cmek;
            o.CmekCheckInterval = TimeSpan.FromMilliseconds(200);
            o.KeyCacheTtl = TimeSpan.FromMinutes(5);
        });
        builder.Services.AddHealthChecks().AddEncryptedStore();
        using IHost host = builder.Build();
        EncryptedStoreHost storeHost = host.Services.GetRequiredService<EncryptedStoreHost>();
        Assert.Throws<InvalidOperationException>(() => storeHost.Store);
        HealthCheckService health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);

        await host.StartAsync();
        EncryptedStore store = host.Services.GetRequiredService<EncryptedStore>();
        Assert.Same(storeHost.Store, store);
        store.GetNamespace("app").Put("k", "v");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        cmek.Revoke();
        Assert.True(Eventually.Holds(() => store.State == StoreState.Locked, StateTimeout), "the store did not lock");
        HealthReport locked = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, locked.Status);
        string description = locked.Entries["encrypted-store"].Description!;
        Assert.Contains("locked", description, StringComparison.Ordinal);
        Assert.Contains("revoked", description, StringComparison.OrdinalIgnoreCase);

        cmek.Restore();
        Assert.True(Eventually.Holds(() => store.State == StoreState.Open, StateTimeout), "the store did not unlock");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        Assert.Equal("v", store.GetNamespace("app").Get("k"));

        await host.StopAsync();
        Assert.Equal(StoreState.Closed, store.State);
        Assert.Null(storeHost.CurrentStore);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task A_degraded_store_is_a_degraded_health_check()
    {
        using var cmek = new TestCmek("hosting-degraded");
        IServiceCollection services = new ServiceCollection().AddLogging();
        services.AddEncryptedStore(o =>
        {
            o.Path = _dir.StorePath;
            o.Cmek = cmek;
            o.CmekCheckInterval = TimeSpan.FromMinutes(5);
            o.KeyCacheTtl = TimeSpan.FromMinutes(10);
        });
        services.AddHealthChecks().AddEncryptedStore();
        await using ServiceProvider provider = services.BuildServiceProvider();
        EncryptedStoreHost storeHost = provider.GetRequiredService<EncryptedStoreHost>();
        await storeHost.StartAsync(CancellationToken.None);
        cmek.MakeTransient();
        await storeHost.Store.CheckCmekNowAsync();
        Assert.Equal(StoreState.Degraded, storeHost.Store.State);
        Assert.Equal(HealthStatus.Degraded, (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
        await storeHost.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Options_bind_from_configuration_and_invalid_ones_stop_the_start()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EncryptedStore:Path"] = _dir.StorePath,
            ["EncryptedStore:CmekUri"] = _dir.CmekUri,
            ["EncryptedStore:CmekCheckInterval"] = "00:00:07",
            ["EncryptedStore:FrameSize"] = "8192",
        }).Build();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddEncryptedStore(configuration.GetSection("EncryptedStore"));
        using (IHost host = builder.Build())
        {
            StoreOptions bound = host.Services.GetRequiredService<IOptions<StoreOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(7), bound.CmekCheckInterval);
            Assert.Equal(8192, bound.FrameSize);
            await host.StartAsync();
            EncryptedStore store = host.Services.GetRequiredService<EncryptedStore>();
            Assert.Equal(_dir.CmekUri, store.CmekUri);
            store.GetNamespace("n").Put("k", "v");
            await host.StopAsync();
        }

        IConfiguration invalid = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EncryptedStore:Path"] = Path.Combine(_dir.Root, "never-created"),
            ["EncryptedStore:CmekUri"] = _dir.CmekUri,
            ["EncryptedStore:FrameSize"] = "3000",
        }).Build();
        HostApplicationBuilder bad = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        bad.Services.AddEncryptedStore(invalid.GetSection("EncryptedStore"));
        using IHost badHost = bad.Build();
        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => badHost.StartAsync());
        Assert.Contains("FrameSize", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.Root, "never-created")));
    }
}
