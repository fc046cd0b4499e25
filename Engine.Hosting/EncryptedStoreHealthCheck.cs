using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Engine.Hosting;

/// <summary>
/// Reports the store's lock state: Open is Healthy, Degraded (serving from cached keys while the CMEK
/// does not answer) is Degraded, Locked and Closed are Unhealthy with the lock reason. Reads a volatile
/// field: never calls the CMEK, never waits.
/// </summary>
internal sealed class EncryptedStoreHealthCheck(EncryptedStoreHost host) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        EncryptedStore? store = host.CurrentStore;
        if (store is null)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The encrypted store is not open (the host has not started it, or has stopped)."));
        }
        StoreState state = store.State;
        var data = new Dictionary<string, object> { ["state"] = state.ToString(), ["path"] = store.Path };
        HealthCheckResult result = state switch
        {
            StoreState.Open => HealthCheckResult.Healthy("The encrypted store is open.", data),
            StoreState.Degraded => HealthCheckResult.Degraded("The CMEK does not answer; the store serves from cached keys until the key cache TTL.", data: data),
            StoreState.Locked => new HealthCheckResult(context.Registration.FailureStatus, "The encrypted store is locked: " + (store.LockReason ?? "no reason recorded"), data: data),
            _ => new HealthCheckResult(context.Registration.FailureStatus, "The encrypted store is closed.", data: data),
        };
        return Task.FromResult(result);
    }
}

/// <summary>Adds the store's health check to <c>services.AddHealthChecks()</c>.</summary>
public static class EncryptedStoreHealthCheckBuilderExtensions
{
    /// <summary>
    /// Adds a check named <paramref name="name"/> reporting the lock state of the store registered with
    /// <c>AddEncryptedStore</c>: Open → Healthy, Degraded → Degraded, Locked/Closed → Unhealthy (or
    /// <paramref name="failureStatus"/>) with the lock reason.
    /// </summary>
    /// <returns>The builder, to chain further checks.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IHealthChecksBuilder AddEncryptedStore(this IHealthChecksBuilder builder, string name = "encrypted-store", HealthStatus failureStatus = HealthStatus.Unhealthy, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, sp => new EncryptedStoreHealthCheck(sp.GetRequiredService<EncryptedStoreHost>()), failureStatus, tags));
    }
}
