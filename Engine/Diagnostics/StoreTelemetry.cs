using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Engine.Crypto;
using Engine.Interop;
using Engine.Locking;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Diagnostics;

/// <summary>
/// One store's logs, metrics and spans: its logger, its tags (cached so that the hot path only adds to
/// a counter) and what its observable instruments read. Created at open, unregistered at close.
/// </summary>
internal sealed class StoreTelemetry : IDisposable
{
    private readonly StoreInstruments _instruments;
    private readonly TagList _storeTags;
    private readonly TagList _batchTags;
    private readonly TagList _healthyTags;
    private readonly TagList _transientTags;
    private readonly TagList _revokedTags;
    private readonly ConcurrentDictionary<string, double> _dataRotationShare = new(StringComparer.Ordinal);
    private readonly Lock _statsSync = new();
    private EncryptedStore? _store;
    private NativeStats _closedSessions; // plugin counters of sessions closed by locks: the live one adds to these
    private int _disposed;

    public StoreTelemetry(StoreOptions options, string storeId, string storePath)
    {
        Logger = LoggerOf(options);
        StoreId = storeId;
        StorePath = storePath;
        _instruments = EngineTelemetry.InstrumentsFor(EngineTelemetry.MeterFor(options.MeterFactory));
        _storeTags = new TagList { { EngineTelemetry.StoreIdTag, storeId } };
        _batchTags = new TagList { { EngineTelemetry.StoreIdTag, storeId }, { EngineTelemetry.OperationTag, "batch" } };
        _healthyTags = new TagList { { EngineTelemetry.StoreIdTag, storeId }, { EngineTelemetry.OutcomeTag, "healthy" } };
        _transientTags = new TagList { { EngineTelemetry.StoreIdTag, storeId }, { EngineTelemetry.OutcomeTag, "transient" } };
        _revokedTags = new TagList { { EngineTelemetry.StoreIdTag, storeId }, { EngineTelemetry.OutcomeTag, "revoked" } };
    }

    public ILogger Logger { get; }

    public string StoreId { get; }

    public string StorePath { get; }

    public StoreInstruments Instruments => _instruments;

    public static ILogger LoggerOf(StoreOptions options) =>
        options.LoggerFactory?.CreateLogger(EngineLog.Category) ?? NullLogger.Instance;

    /// <summary>Starts publishing the store's observable instruments.</summary>
    public void Attach(EncryptedStore store)
    {
        _store = store;
        _instruments.Register(this);
    }

    public NamespaceTelemetry ForNamespace(string name) => new(this, name);

    /// <summary>A span of the store's activity source, tagged with the store (null when nobody listens).</summary>
    public Activity? StartActivity(string name, string? ns = null)
    {
        Activity? activity = EngineTelemetry.ActivitySource.StartActivity(name, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag(EngineTelemetry.StoreIdTag, StoreId);
            if (ns is not null)
            {
                activity.SetTag(EngineTelemetry.NamespaceTag, ns);
            }
        }
        return activity;
    }

    /// <summary>Marks a span failed with the exception's type (its message may name files, never data).</summary>
    public static void Fail(Activity? activity, Exception error)
    {
        activity?.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
    }

    public void Batch(long bytes)
    {
        _instruments.Operations.Add(1, in _batchTags);
        _instruments.BytesWritten.Add(bytes, in _storeTags);
    }

    public void StateChanged(StoreStateChange change)
    {
        LogLevel level = change.NewState is StoreState.Degraded or StoreState.Locked ? LogLevel.Warning : LogLevel.Information;
        EngineLog.StateChanged(Logger, level, StoreId, change.OldState, change.NewState, change.Reason);
    }

    /// <summary>One CMEK check answered: counted by outcome, timed, logged when it failed or was slow.</summary>
    public void CmekChecked(CmekCheckOutcome outcome, string? reason, TimeSpan elapsed, TimeSpan timeout)
    {
        TagList tags = outcome switch
        {
            CmekCheckOutcome.Healthy => _healthyTags,
            CmekCheckOutcome.Revoked => _revokedTags,
            _ => _transientTags,
        };
        _instruments.CmekCalls.Add(1, in tags);
        _instruments.CmekLatency.Record(elapsed.TotalSeconds, in _storeTags);
        if (outcome != CmekCheckOutcome.Healthy)
        {
            EngineLog.CmekCheckFailed(Logger, StoreId, outcome.ToString(), elapsed.TotalMilliseconds, reason ?? "no reason given");
        }
        else if (elapsed >= timeout / 2)
        {
            EngineLog.CmekCheckSlow(Logger, StoreId, elapsed.TotalMilliseconds, timeout.TotalMilliseconds);
        }
    }

    /// <summary>A CMEK check still unanswered after one check interval (the store degrades).</summary>
    public void CmekCheckStillWaiting(TimeSpan elapsed, TimeSpan timeout) =>
        EngineLog.CmekCheckSlow(Logger, StoreId, elapsed.TotalMilliseconds, timeout.TotalMilliseconds);

    public void IntegrityFailure(IntegrityException error)
    {
        _instruments.IntegrityFailures.Add(1, in _storeTags);
        EngineLog.IntegrityFailure(Logger, StoreId, error.Path ?? "(unknown file)", error.Offset);
    }

    public void DataRotationProgress(DataKeyRotationProgress progress)
    {
        _dataRotationShare[progress.Namespace] = progress.Share;
        EngineLog.RotationProgress(Logger, StoreId, "data key", progress.Namespace, progress.NewBytes, progress.OldBytes + progress.NewBytes, "bytes");
    }

    /// <summary>Runs a rotation inside a span, logging its start, end (with its duration) or failure.</summary>
    public async Task TraceRotationAsync(string rotation, string scope, Func<Task> run)
    {
        using Activity? activity = StartActivity("engine.keys.rotate");
        activity?.SetTag("engine.rotation", rotation);
        activity?.SetTag("engine.rotation.scope", scope);
        long started = Stopwatch.GetTimestamp();
        EngineLog.RotationStarted(Logger, StoreId, rotation, scope);
        try
        {
            await run().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            EngineLog.RotationFailed(Logger, StoreId, rotation, scope, ex);
            throw;
        }
        double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        EngineLog.RotationCompleted(Logger, StoreId, rotation, scope, elapsedMs);
    }

    /// <summary>As <see cref="TraceRotationAsync"/> for a synchronous rotation.</summary>
    public T TraceRotation<T>(string rotation, string scope, Func<T> run)
    {
        using Activity? activity = StartActivity("engine.keys.rotate");
        activity?.SetTag("engine.rotation", rotation);
        activity?.SetTag("engine.rotation.scope", scope);
        long started = Stopwatch.GetTimestamp();
        EngineLog.RotationStarted(Logger, StoreId, rotation, scope);
        T result;
        try
        {
            result = run();
        }
        catch (Exception ex)
        {
            Fail(activity, ex);
            EngineLog.RotationFailed(Logger, StoreId, rotation, scope, ex);
            throw;
        }
        double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        EngineLog.RotationCompleted(Logger, StoreId, rotation, scope, elapsedMs);
        return result;
    }

    /// <summary>Logs the end of a KEK rotation's background re-wrap when its task completes.</summary>
    public void TraceKekRetirement(string scope, Task completion)
    {
        long started = Stopwatch.GetTimestamp();
        completion.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    EngineLog.RotationCompleted(Logger, StoreId, "KEK re-wrap", scope, elapsedMs);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Adds a closed session's plugin counters to the store's totals, so the observable counters never go back.</summary>
    public void SessionClosed(NativeStats? stats)
    {
        if (stats is NativeStats s)
        {
            lock (_statsSync)
            {
                _closedSessions.FramesSealed += s.FramesSealed;
                _closedSessions.FramesOpened += s.FramesOpened;
                _closedSessions.FilesCreated += s.FilesCreated;
            }
        }
    }

    internal Measurement<int>? ObserveState() =>
        _store is { } store ? new Measurement<int>((int)store.State, _storeTags) : null;

    internal Measurement<long>? ObserveCmekChecks() =>
        _store is { } store ? new Measurement<long>(store.CmekCheckCount, _storeTags) : null;

    internal Measurement<long>? ObserveHeadersRewrapped() =>
        _store is { } store ? new Measurement<long>(store.Keys.Worker.FilesRewrapped, _storeTags) : null;

    internal Measurement<long>? ObservePlugin(Func<NativeStats, ulong> counter)
    {
        if (_store is not { } store)
        {
            return null;
        }
        NativeStats closed;
        lock (_statsSync)
        {
            closed = _closedSessions;
        }
        ulong live = store.TryReadPluginStats() is NativeStats stats ? counter(stats) : 0;
        return new Measurement<long>((long)(counter(closed) + live), _storeTags);
    }

    internal IEnumerable<Measurement<double>> ObserveDataRotation()
    {
        foreach (KeyValuePair<string, double> share in _dataRotationShare)
        {
            yield return new Measurement<double>(share.Value, new KeyValuePair<string, object?>(EngineTelemetry.StoreIdTag, StoreId), new KeyValuePair<string, object?>(EngineTelemetry.NamespaceTag, share.Key));
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _instruments.Unregister(this);
        }
    }
}

/// <summary>
/// A namespace's cached tags: each point operation adds to two counters with a prepared tag list, and
/// allocates nothing.
/// </summary>
internal sealed class NamespaceTelemetry
{
    private readonly StoreInstruments _instruments;
    private readonly TagList _tags;
    private readonly TagList _get;
    private readonly TagList _put;
    private readonly TagList _delete;
    private readonly TagList _scan;

    public NamespaceTelemetry(StoreTelemetry store, string name)
    {
        _instruments = store.Instruments;
        _tags = Tags(store.StoreId, name, null);
        _get = Tags(store.StoreId, name, "get");
        _put = Tags(store.StoreId, name, "put");
        _delete = Tags(store.StoreId, name, "delete");
        _scan = Tags(store.StoreId, name, "scan");
    }

    public void Get(int bytesRead)
    {
        _instruments.Operations.Add(1, in _get);
        if (bytesRead > 0)
        {
            _instruments.BytesRead.Add(bytesRead, in _tags);
        }
    }

    public void Put(int bytesWritten)
    {
        _instruments.Operations.Add(1, in _put);
        _instruments.BytesWritten.Add(bytesWritten, in _tags);
    }

    public void Delete(int bytesWritten)
    {
        _instruments.Operations.Add(1, in _delete);
        _instruments.BytesWritten.Add(bytesWritten, in _tags);
    }

    public void ScanStarted() => _instruments.Operations.Add(1, in _scan);

    public void Scanned(int entries, long bytes)
    {
        _instruments.ScanEntries.Add(entries, in _tags);
        _instruments.BytesRead.Add(bytes, in _tags);
    }

    private static TagList Tags(string storeId, string ns, string? operation)
    {
        var tags = new TagList { { EngineTelemetry.StoreIdTag, storeId }, { EngineTelemetry.NamespaceTag, ns } };
        if (operation is not null)
        {
            tags.Add(EngineTelemetry.OperationTag, operation);
        }
        return tags;
    }
}
