using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Engine.Diagnostics;
using Engine.Testing;
using Engine.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Engine.Tests.Observability;

/// <summary>
/// The store's instruments and spans, read as an application's pipeline reads them (MeterListener,
/// ActivityListener). Two stores run side by side and are told apart by their <c>engine.store.id</c> tag;
/// other tests publishing to the same meter at the same time are filtered out the same way.
/// </summary>
[Collection(ProcessWideListenersGroup.Name)]
public sealed class StoreMetricsTests : IDisposable
{
    /// <summary>For <see cref="MetricRecorder.Sum"/>: measurements without a namespace tag (null matches any).</summary>
    private const string NoNamespace = "";
    private readonly TestStoreDirectory _a = new();
    private readonly TestStoreDirectory _b = new();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void Two_stores_publish_operations_bytes_scans_state_and_plugin_counters_under_their_own_ids()
    {
        using var recorder = new MetricRecorder(meter => meter.Name == EngineTelemetry.MeterName);
        using EncryptedStore a = _a.Open();
        using EncryptedStore b = _b.Open();
        string idA = a.Telemetry.StoreId;
        string idB = b.Telemetry.StoreId;
        Assert.NotEqual(idA, idB);

        StoreNamespace nsA = a.GetNamespace("orders");
        for (int i = 0; i < 10; i++)
        {
            nsA.Put($"k{i}", "0123456789"); // 2 + 10 bytes each
        }
        Assert.NotNull(nsA.Get("k1"));
        Assert.Null(nsA.Get("missing"));
        nsA.Delete("k9");
        Assert.Equal(9, nsA.Scan((string?)null, null).Count());
        using (StoreWriteBatch batch = a.CreateWriteBatch())
        {
            a.Write(batch.Put(nsA, "bk", "bv"));
        }
        StoreNamespace nsB = b.GetNamespace("users");
        nsB.Put("only", "one");
        a.Flush();

        Assert.Equal(10, recorder.Sum("engine.store.operations", idA, "orders", "put"));
        Assert.Equal(2, recorder.Sum("engine.store.operations", idA, "orders", "get"));
        Assert.Equal(1, recorder.Sum("engine.store.operations", idA, "orders", "delete"));
        Assert.Equal(1, recorder.Sum("engine.store.operations", idA, "orders", "scan"));
        Assert.Equal(1, recorder.Sum("engine.store.operations", idA, NoNamespace, "batch"));
        Assert.Equal(1, recorder.Sum("engine.store.operations", idB, "users", "put"));
        Assert.Equal(0, recorder.Sum("engine.store.operations", idB, "users", "get"));
        Assert.Equal((10 * 12) + 2, recorder.Sum("engine.store.bytes_written", idA, "orders", null)); // puts, and the deleted key
        Assert.Equal(4, recorder.Sum("engine.store.bytes_written", idA, NoNamespace, null)); // the batch
        Assert.Equal(12 + (9 * 12), recorder.Sum("engine.store.bytes_read", idA, "orders", null)); // one hit, then the scan
        Assert.Equal(9, recorder.Sum("engine.store.scan_entries", idA, "orders", null));
        Assert.Equal(0, recorder.Sum("engine.store.scan_entries", idB, null, null));

        recorder.Collect();
        Assert.Equal((int)StoreState.Open, recorder.Last("engine.store.state", idA));
        Assert.Equal((int)StoreState.Open, recorder.Last("engine.store.state", idB));
        Assert.True(recorder.Last("engine.plugin.frames_sealed", idA) > 0, "store A sealed no frame");
        Assert.True(recorder.Last("engine.plugin.files_created", idA) > 0, "store A created no file");
        Assert.True(recorder.Last("engine.store.cmek_checks", idA) >= 0);

        a.Lock("test lock");
        recorder.Collect();
        Assert.Equal((int)StoreState.Locked, recorder.Last("engine.store.state", idA));
        Assert.Equal((int)StoreState.Open, recorder.Last("engine.store.state", idB));
    }

    [Fact]
    public async Task Cmek_checks_are_counted_by_outcome_and_timed()
    {
        using var recorder = new MetricRecorder(meter => meter.Name == EngineTelemetry.MeterName);
        using var cmek = new TestCmek("metrics");
        using EncryptedStore store = _a.Open(o =>
        {
            o.CmekUri = null;
            o.Cmek = cmek;
            o.CmekCheckInterval = TimeSpan.FromMinutes(5); // only the checks this test asks for
            o.KeyCacheTtl = TimeSpan.FromMinutes(10);
        });
        string id = store.Telemetry.StoreId;
        await store.CheckCmekNowAsync();
        await store.CheckCmekNowAsync();
        cmek.MakeTransient();
        await store.CheckCmekNowAsync();
        Assert.Equal(StoreState.Degraded, store.State);

        Assert.Equal(2, recorder.Sum("engine.cmek.calls", id, null, null, ("engine.cmek.outcome", "healthy")));
        Assert.Equal(1, recorder.Sum("engine.cmek.calls", id, null, null, ("engine.cmek.outcome", "transient")));
        Assert.Equal(3, recorder.Count("engine.cmek.latency", id));
        recorder.Collect();
        Assert.Equal(3, recorder.Last("engine.store.cmek_checks", id));
        Assert.Equal((int)StoreState.Degraded, recorder.Last("engine.store.state", id));
    }

    [Fact]
    public void A_meter_factory_given_in_the_options_owns_the_instruments()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = services.GetRequiredService<IMeterFactory>();
        Meter? seen = null;
        using var recorder = new MetricRecorder(meter => meter.Name == EngineTelemetry.MeterName && meter.Scope == factory);
        using EncryptedStore store = _a.Open(o => o.MeterFactory = factory);
        using EncryptedStore other = _b.Open(); // the shared meter: not this listener's
        store.GetNamespace("n").Put("k", "v");
        other.GetNamespace("n").Put("k", "v");
        seen = recorder.Meters.Single();
        Assert.Same(factory, seen.Scope);
        Assert.Equal(1, recorder.Sum("engine.store.operations", store.Telemetry.StoreId, "n", "put"));
        Assert.Equal(0, recorder.Sum("engine.store.operations", other.Telemetry.StoreId, "n", "put"));
    }

    [Fact]
    public async Task Spans_cover_open_flush_compact_verify_rotations_and_imports_tagged_with_the_store()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EngineTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        string id;
        using (EncryptedStore store = _a.Open())
        {
            id = store.Telemetry.StoreId;
            StoreNamespace ns = store.GetNamespace("spans");
            ns.Put("k", "v");
            store.Flush();
            store.Compact();
            store.Verify();
            ns.BulkImport([new(Encoding.UTF8.GetBytes("i"), Encoding.UTF8.GetBytes("v"))]);
            store.Keys.RotateRootKey();
            await store.Keys.RotateNamespaceKey("spans").Completion.WaitAsync(TimeSpan.FromSeconds(30));
            store.Keys.RotateDataKeys("spans");
        }
        using (EncryptedStore other = _b.Open())
        {
            other.Flush();
        }

        Activity[] ours = [.. spans.Where(s => Equals(s.GetTagItem(EngineTelemetry.StoreIdTag), id))];
        foreach (string name in new[] { "engine.store.open", "engine.store.flush", "engine.store.compact", "engine.store.verify", "engine.import", "engine.keys.rotate" })
        {
            Assert.Contains(ours, s => s.OperationName == name);
        }
        Assert.Equal(1, ours.Count(s => s.OperationName == "engine.store.flush"));  // the other store's flush carries its own id
        Assert.Contains(ours, s => s.OperationName == "engine.import" && Equals(s.GetTagItem(EngineTelemetry.NamespaceTag), "spans"));
        string[] rotations = [.. ours.Where(s => s.OperationName == "engine.keys.rotate").Select(s => (string)s.GetTagItem("engine.rotation")!)];
        Assert.Contains("root key", rotations);
        Assert.Contains("KEK", rotations);
        Assert.Contains("data key", rotations);
    }

    /// <summary>Collects measurements of the engine's meter(s) with their tags.</summary>
    private sealed class MetricRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();
        private readonly ConcurrentDictionary<Meter, bool> _meters = new();

        public MetricRecorder(Func<Meter, bool> select)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (select(instrument.Meter))
                {
                    _meters.TryAdd(instrument.Meter, true);
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        public IReadOnlyCollection<Meter> Meters => [.. _meters.Keys];

        public void Collect() => _listener.RecordObservableInstruments();

        public double Sum(string instrument, string storeId, string? ns, string? operation, (string Key, string Value)? extra = null) =>
            Matching(instrument, storeId, ns, operation, extra).Sum(m => m.Value);

        public int Count(string instrument, string storeId) => Matching(instrument, storeId, null, null, null).Count();

        public double Last(string instrument, string storeId) =>
            Matching(instrument, storeId, null, null, null).Select(m => m.Value).DefaultIfEmpty(double.NaN).Last();

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string instrument, string storeId, string? ns, string? operation, (string Key, string Value)? extra) =>
            _measurements.Where(m => m.Instrument == instrument
                && Tag(m.Tags, EngineTelemetry.StoreIdTag) == storeId
                && (ns is null || Tag(m.Tags, EngineTelemetry.NamespaceTag) == (ns.Length == 0 ? null : ns))
                && (operation is null || Tag(m.Tags, EngineTelemetry.OperationTag) == operation)
                && (extra is null || Tag(m.Tags, extra.Value.Key) == extra.Value.Value));

        private static string? Tag(KeyValuePair<string, object?>[] tags, string key) =>
            tags.FirstOrDefault(t => t.Key == key).Value as string;

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            _measurements.Enqueue((instrument.Name, value, tags.ToArray()));
    }
}
