using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Engine.Hosting;

/// <summary>Registers an <see cref="EncryptedStore"/> with a generic host.</summary>
public static class EncryptedStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the store: <see cref="StoreOptions"/> configured by <paramref name="configure"/> and
    /// validated when the host starts, an <see cref="EncryptedStoreHost"/> that opens the store at start
    /// and disposes it at stop, and <see cref="EncryptedStore"/> itself (resolvable once the host started).
    /// </summary>
    /// <returns>The options builder, to chain further configuration or validation.</returns>
    /// <exception cref="ArgumentNullException">A null argument.</exception>
    public static OptionsBuilder<StoreOptions> AddEncryptedStore(this IServiceCollection services, Action<StoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return AddCore(services).Configure(configure);
    }

    /// <summary>
    /// As <see cref="AddEncryptedStore(IServiceCollection, Action{StoreOptions})"/>, with the options bound
    /// from a configuration section (for example <c>configuration.GetSection("EncryptedStore")</c>):
    /// <c>Path</c>, <c>CmekUri</c>, <c>CmekCheckInterval</c>, <c>KeyCacheTtl</c>, ... as in
    /// <see cref="StoreOptions"/>; time spans as <c>hh:mm:ss</c>.
    /// </summary>
    /// <returns>The options builder, to chain further configuration or validation.</returns>
    /// <exception cref="ArgumentNullException">A null argument.</exception>
    public static OptionsBuilder<StoreOptions> AddEncryptedStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return AddCore(services).Bind(configuration);
    }

    private static OptionsBuilder<StoreOptions> AddCore(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>());
        services.TryAddSingleton<EncryptedStoreHost>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EncryptedStoreHost>(sp => sp.GetRequiredService<EncryptedStoreHost>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<EncryptedStoreHost>().Store);
        return services.AddOptions<StoreOptions>().ValidateOnStart();
    }
}
