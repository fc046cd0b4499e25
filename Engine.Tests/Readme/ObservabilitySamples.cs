using System.Diagnostics.Metrics;
using Engine;
using Engine.Diagnostics;
using Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Engine.Tests.Readme;

/// <summary>README "Logs, metrics and traces" and "Hosting": compiled here, shown verbatim there (see <see cref="ReadmeSampleTests"/>).</summary>
internal static class ObservabilitySamples
{
    internal static void Logging(ILoggerFactory loggerFactory, IMeterFactory meterFactory)
    {
        // README-SAMPLE-BEGIN
        using var store = EncryptedStore.Open(new StoreOptions
        {
            Path = "/var/lib/myapp/store",
            CmekUri = "file:/etc/myapp/store.key",
            LoggerFactory = loggerFactory,   // category "Engine.EncryptedStore"; null logs nothing
            MeterFactory = meterFactory,     // null: one process-wide Meter "Engine.EncryptedStore"
        });
        // README-SAMPLE-END
    }

    internal static void Listener()
    {
        // README-SAMPLE-BEGIN
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == EngineTelemetry.StoreIdTag)
                {
                    Console.WriteLine($"{instrument.Name} {value} store={tag.Value}");
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();   // state, CMEK checks, plugin frames: read when collected
        // README-SAMPLE-END
    }

    internal static void OpenTelemetry(HostApplicationBuilder builder)
    {
        // README-SAMPLE-BEGIN
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(EngineTelemetry.MeterName))
            .WithTracing(tracing => tracing.AddSource(EngineTelemetry.ActivitySourceName));
        // then an exporter of your choice, e.g. .AddOtlpExporter() from OpenTelemetry.Exporter.OpenTelemetryProtocol
        // README-SAMPLE-END
    }

    internal static async Task Hosting(string[] args)
    {
        // README-SAMPLE-BEGIN
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        // appsettings.json: { "EncryptedStore": { "Path": "/var/lib/myapp/store",
        //                     "CmekUri": "file:/etc/myapp/store.key", "CmekCheckInterval": "00:00:30" } }
        builder.Services.AddEncryptedStore(builder.Configuration.GetSection("EncryptedStore"));
        builder.Services.AddHealthChecks().AddEncryptedStore();   // Open: Healthy, Degraded: Degraded, Locked: Unhealthy
        using IHost host = builder.Build();
        await host.StartAsync();                                  // opens the store (bad options fail here)
        EncryptedStore store = host.Services.GetRequiredService<EncryptedStore>();
        store.GetNamespace("tenant-42").Put("greeting", "hello");
        await host.StopAsync();                                   // closes it, zeroing its keys
        // README-SAMPLE-END
    }
}
