using System.Diagnostics.Metrics;

namespace Engine.Diagnostics;

/// <summary>
/// The instruments of one meter. Counters and histograms are written by the stores with their cached
/// tags; observable instruments read every store registered here when a listener collects.
/// </summary>
internal sealed class StoreInstruments
{
    private readonly Lock _sync = new();
    private StoreTelemetry[] _stores = [];

    public StoreInstruments(Meter meter)
    {
        Operations = meter.CreateCounter<long>("engine.store.operations", "{operation}", "Data operations by kind (get, put, delete, scan, batch)");
        BytesRead = meter.CreateCounter<long>("engine.store.bytes_read", "By", "Key and value bytes returned to callers (gets and scans)");
        BytesWritten = meter.CreateCounter<long>("engine.store.bytes_written", "By", "Key and value bytes handed to the store (puts, deletes, batches)");
        ScanEntries = meter.CreateCounter<long>("engine.store.scan_entries", "{entry}", "Entries read by scans");
        IntegrityFailures = meter.CreateCounter<long>("engine.store.integrity_failures", "{failure}", "Reads or verifications that failed authentication");
        CmekCalls = meter.CreateCounter<long>("engine.cmek.calls", "{call}", "CMEK checks by outcome (healthy, transient, revoked)");
        CmekLatency = meter.CreateHistogram<double>("engine.cmek.latency", "s", "Time a CMEK check took to answer");
        meter.CreateObservableGauge("engine.store.state", () => Observe(static t => t.ObserveState()), description: "0 Open, 1 Degraded, 2 Locked, 3 Closed");
        meter.CreateObservableCounter("engine.store.cmek_checks", () => Observe(static t => t.ObserveCmekChecks()), "{check}", "CMEK checks started since open");
        meter.CreateObservableCounter("engine.plugin.frames_sealed", () => Observe(static t => t.ObservePlugin(static s => s.FramesSealed)), "{frame}", "AES-256-GCM frames sealed by the file system plugin");
        meter.CreateObservableCounter("engine.plugin.frames_opened", () => Observe(static t => t.ObservePlugin(static s => s.FramesOpened)), "{frame}", "AES-256-GCM frames opened (authenticated) by the file system plugin");
        meter.CreateObservableCounter("engine.plugin.files_created", () => Observe(static t => t.ObservePlugin(static s => s.FilesCreated)), "{file}", "Encrypted files created by the plugin (each with its own data key)");
        meter.CreateObservableCounter("engine.keys.headers_rewrapped", () => Observe(static t => t.ObserveHeadersRewrapped()), "{file}", "File headers re-wrapped under a rotated KEK");
        meter.CreateObservableGauge("engine.keys.data_rotation.share", () => ObserveMany(static t => t.ObserveDataRotation()), "1", "Share of a namespace's live bytes under data keys issued since its last data key rotation began");
    }

    public Counter<long> Operations { get; }

    public Counter<long> BytesRead { get; }

    public Counter<long> BytesWritten { get; }

    public Counter<long> ScanEntries { get; }

    public Counter<long> IntegrityFailures { get; }

    public Counter<long> CmekCalls { get; }

    public Histogram<double> CmekLatency { get; }

    public void Register(StoreTelemetry store)
    {
        lock (_sync)
        {
            _stores = [.. _stores, store];
        }
    }

    public void Unregister(StoreTelemetry store)
    {
        lock (_sync)
        {
            _stores = [.. _stores.Where(s => !ReferenceEquals(s, store))];
        }
    }

    private List<Measurement<T>> Observe<T>(Func<StoreTelemetry, Measurement<T>?> read)
        where T : struct
    {
        StoreTelemetry[] stores = Volatile.Read(ref _stores);
        var measurements = new List<Measurement<T>>(stores.Length);
        foreach (StoreTelemetry store in stores)
        {
            if (read(store) is Measurement<T> m)
            {
                measurements.Add(m);
            }
        }
        return measurements;
    }

    private List<Measurement<T>> ObserveMany<T>(Func<StoreTelemetry, IEnumerable<Measurement<T>>> read)
        where T : struct
    {
        var measurements = new List<Measurement<T>>();
        foreach (StoreTelemetry store in Volatile.Read(ref _stores))
        {
            measurements.AddRange(read(store));
        }
        return measurements;
    }
}
