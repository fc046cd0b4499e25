using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engine.Hosting;

/// <summary>
/// Opens the application's <see cref="EncryptedStore"/> when the host starts and disposes it when the host
/// stops, so that the store's lifetime is the application's and a store that cannot open (wrong key, bad
/// path) fails the start instead of the first request. Registered by
/// <see cref="EncryptedStoreServiceCollectionExtensions.AddEncryptedStore(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{StoreOptions})"/>.
/// </summary>
/// <remarks>
/// The store is opened with the synchronous <see cref="EncryptedStore.Open"/> on a thread-pool thread
/// (the open unwraps the root key with the CMEK and opens RocksDB). Unless the options name their own,
/// the store logs to the host's <see cref="ILoggerFactory"/> and publishes its instruments through the
/// host's <see cref="IMeterFactory"/>.
/// </remarks>
public sealed class EncryptedStoreHost : IHostedService, IDisposable
{
    private readonly IOptions<StoreOptions> _options;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly IMeterFactory? _meterFactory;
    private volatile EncryptedStore? _store;
    private volatile bool _stopped;

    /// <summary>Created by the container.</summary>
    /// <param name="options">The store's options, validated when the host starts.</param>
    /// <param name="loggerFactory">The host's logging, used when the options name none.</param>
    /// <param name="meterFactory">The host's metrics, used when the options name none.</param>
    public EncryptedStoreHost(IOptions<StoreOptions> options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _loggerFactory = loggerFactory;
        _meterFactory = meterFactory;
    }

    /// <summary>The open store, or null before the host started it and after it stopped.</summary>
    public EncryptedStore? CurrentStore => _store;

    /// <summary>The open store.</summary>
    /// <exception cref="InvalidOperationException">The host has not started yet, or has stopped.</exception>
    public EncryptedStore Store => _store ?? throw new InvalidOperationException(
        _stopped
            ? "The encrypted store was closed when the host stopped."
            : "The encrypted store is opened when the host starts (IHost.StartAsync); resolve it after that.");

    /// <summary>Opens the store.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the open began.</exception>
    /// <exception cref="ArgumentException">Invalid options (normally reported earlier, by the options validation at start).</exception>
    /// <exception cref="KeyUnavailableException">The CMEK does not unwrap the store's root key.</exception>
    /// <exception cref="EngineException">The path is not a store, or RocksDB failed to open.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        StoreOptions options = _options.Value.Copy(); // the shared options object stays as configured
        options.LoggerFactory ??= _loggerFactory;
        options.MeterFactory ??= _meterFactory;
        // Not cancelled half-way: an open that completes after a cancellation would leak the store.
        _store = await Task.Run(() => EncryptedStore.Open(options), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Closes the store (zeroes its keys); idempotent.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        EncryptedStore? store = Interlocked.Exchange(ref _store, null);
        store?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Closes the store if the host did not stop it (the container is disposed).</summary>
    public void Dispose() => StopAsync(CancellationToken.None).GetAwaiter().GetResult();
}
