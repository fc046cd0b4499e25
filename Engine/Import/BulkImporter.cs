using System.Diagnostics;

namespace Engine.Import;

/// <summary>
/// Runs one bulk import: read and sort runs within the memory budget, spill them to encrypted temp
/// files, merge them into SST files, ingest those atomically. See <see cref="StoreNamespace.BulkImport(IEnumerable{KeyValuePair{byte[], byte[]}}, BulkImportOptions?, IProgress{BulkImportProgress}?, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// Gate discipline: the import never holds the store's gate while it waits for the caller (input
/// enumeration, progress handlers). Work that needs the session (writing one temp chunk, writing one
/// SST, the ingest) runs as a separate, bounded step inside the gate; steps poll the store's state and
/// stop when a lock begins, so a lock waits for at most a fraction of one step. Every step checks that
/// the session is the one the import started with: after a lock (even one followed by an unlock) the
/// per-boot key of the temp files is gone, and the import fails with <see cref="StoreLockedException"/>.
/// </remarks>
internal sealed class BulkImporter
{
    private const int ReportEveryEntries = 1 << 16;

    private readonly EncryptedStore _store;
    private readonly StoreNamespace _namespace;
    private readonly BulkImportOptions _options;
    private readonly IProgress<BulkImportProgress>? _progress;
    private readonly CancellationToken _ct;
    private readonly Guid _id = Guid.NewGuid();
    private readonly StoreLayout _layout;
    private readonly int _chunkBytes;
    private readonly long _writerBytes;
    private readonly IBlockCodec? _codec;
    private readonly List<RunWriter> _writers = [];
    private StoreSession? _session;
    private StoreStateChange? _lock;
    private SstStage? _stage;
    private long _entriesRead;
    private long _bytesRead;
    private int _runsSpilled;
    private long _spillBytes;
    private int _mergePasses;

    public BulkImporter(EncryptedStore store, StoreNamespace ns, BulkImportOptions options, IProgress<BulkImportProgress>? progress, CancellationToken ct)
    {
        _store = store;
        _namespace = ns;
        _options = options;
        _progress = progress;
        _ct = ct;
        _layout = new StoreLayout(store.Path);
        // Memory: a run writer holds a chunk and a raw block; the rest of the budget holds entries
        // while reading, or the merge's read buffers while merging.
        _chunkBytes = (int)Math.Clamp(options.MemoryBudgetBytes / 8, 32L << 10, 4L << 20);
        _writerBytes = _chunkBytes + 2L * SpilledRun.BlockSize;
        _codec = options.CompressSpills ? Lz4BlockCodec.Instance : null;
    }

    public BulkImportResult Run(IEnumerable<KeyValuePair<byte[], byte[]>> entries)
    {
        var clock = Stopwatch.StartNew();
        _store.StateChanged += OnStateChanged;
        try
        {
            SstStage.DeleteAbandoned(Path.Combine(_layout.Root, StoreLayout.NamespacesDir));
            IRunCursor sorted = ReadAndSpill(entries);
            _stage = new SstStage(_layout.NamespaceDirectory(_namespace.Info.Id), _id, _options.SstTargetBytes);
            Report(BulkImportPhase.WritingSsts);
            while (Step(s => _stage.WriteSst(sorted, s, CheckAbort)))
            {
                Report(BulkImportPhase.WritingSsts);
            }
            Report(BulkImportPhase.WritingSsts);
            DeleteTempFiles(); // all consumed by now; the merge deleted each as it finished it
            if (_stage.Files.Count > 0)
            {
                Report(BulkImportPhase.Ingesting);
                Step(s =>
                {
                    _stage.Ingest(s, _namespace.HandleIn(s));
                    return true;
                });
            }
            _stage.Delete(); // RocksDB moved the files out: only the empty directory is left
            Report(BulkImportPhase.Completed);
            return new BulkImportResult(_entriesRead, _stage.Entries, _runsSpilled, _mergePasses, _spillBytes, _stage.Files.Count, _stage.Bytes, clock.Elapsed);
        }
        finally
        {
            _store.StateChanged -= OnStateChanged;
            DeleteTempFiles();
            _stage?.Delete();
        }
    }

    private IRunCursor ReadAndSpill(IEnumerable<KeyValuePair<byte[], byte[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var runs = new List<SpilledRun>();
        var buffer = new RunBuffer(_options.MemoryBudgetBytes - _writerBytes);
        int maxKey = _store.Options.MaxKeyBytes;
        int maxValue = _store.Options.MaxValueBytes;
        Report(BulkImportPhase.Reading);
        foreach (KeyValuePair<byte[], byte[]> entry in entries)
        {
            byte[] key = entry.Key ?? throw new ArgumentException($"Entry {_entriesRead} has a null key.", nameof(entries));
            byte[] value = entry.Value ?? throw new ArgumentException($"Entry {_entriesRead} has a null value.", nameof(entries));
            if (key.Length > maxKey)
            {
                throw new ArgumentException($"Entry {_entriesRead}: key of {key.Length} bytes exceeds the limit of {maxKey} bytes (StoreOptions.MaxKeyBytes).", nameof(entries));
            }
            if (value.Length > maxValue)
            {
                throw new ArgumentException($"Entry {_entriesRead}: value of {value.Length} bytes exceeds the limit of {maxValue} bytes (StoreOptions.MaxValueBytes).", nameof(entries));
            }
            if (!buffer.TryAdd(key, value))
            {
                runs.Add(Spill(buffer.Sort(), runs.Count, initial: true));
                buffer.Clear();
                buffer.TryAdd(key, value);
            }
            _entriesRead++;
            _bytesRead += key.Length + value.Length;
            if ((_entriesRead & 0x3FF) == 0)
            {
                _ct.ThrowIfCancellationRequested();
                if ((_entriesRead % ReportEveryEntries) == 0)
                {
                    Report(BulkImportPhase.Reading);
                }
            }
        }
        _ct.ThrowIfCancellationRequested();
        Report(BulkImportPhase.Reading);
        if (runs.Count == 0)
        {
            return buffer.Sort(); // everything fits in memory: no temp file at all
        }
        if (!buffer.IsEmpty)
        {
            runs.Add(Spill(buffer.Sort(), runs.Count, initial: true));
        }
        return MergeDown(runs);
    }

    /// <summary>Writes a sorted cursor as a new run, one chunk per step.</summary>
    private SpilledRun Spill(IRunCursor cursor, int runId, bool initial)
    {
        var writer = new RunWriter(_layout.TempDirectory, _id, runId, _chunkBytes, _codec);
        _writers.Add(writer);
        Files.StoreFiles.CreateOwnerOnlyDirectory(_layout.TempDirectory);
        while (Step(s => writer.WriteChunk(cursor, s.Env, CheckAbort)))
        {
        }
        _spillBytes += writer.Bytes;
        if (initial)
        {
            _runsSpilled++;
            Report(BulkImportPhase.Spilling);
        }
        return writer.Complete();
    }

    /// <summary>Merges runs until few enough remain to merge in one pass within the budget; returns that final merge.</summary>
    private MergeCursor MergeDown(List<SpilledRun> runs)
    {
        long mergeBudget = _options.MemoryBudgetBytes - _writerBytes;
        int fanIn = (int)Math.Max(2, mergeBudget / (_options.MinReadBlockBytes + SpilledRunReader.PlainOverhead));
        int nextRunId = runs.Count;
        while (runs.Count > fanIn)
        {
            _mergePasses++;
            // Merge consecutive groups (so newer runs stay after older ones); when fewer runs than a
            // full pass would remove are in excess, merge only as many of the oldest as needed.
            int excess = runs.Count - fanIn;
            int group = excess >= fanIn - 1 ? fanIn : excess + 1;
            var next = new List<SpilledRun>();
            int i = 0;
            for (; i + 1 < runs.Count && (group == fanIn || i == 0); i += group)
            {
                List<SpilledRun> members = runs.GetRange(i, Math.Min(group, runs.Count - i));
                next.Add(members.Count == 1 ? members[0] : Spill(OpenMerge(members, mergeBudget), nextRunId++, initial: false));
                Report(BulkImportPhase.Merging);
            }
            next.AddRange(runs.Skip(i));
            runs = next;
        }
        _mergePasses++;
        return OpenMerge(runs, mergeBudget);
    }

    private MergeCursor OpenMerge(List<SpilledRun> runs, long budget)
    {
        // Each reader gets an equal share; reading more than a chunk at once buys nothing.
        int block = (int)Math.Clamp((budget / runs.Count) - SpilledRunReader.PlainOverhead, _options.MinReadBlockBytes, _writerBytes);
        return new MergeCursor([.. runs.Select(r => new SpilledRunReader(r, _id, block, _codec))]);
    }

    /// <summary>One bounded step inside the store's gate, on the session the import started with.</summary>
    private T Step<T>(Func<StoreSession, T> step) => _store.Run(session =>
    {
        _session ??= session;
        if (!ReferenceEquals(session, _session))
        {
            StoreStateChange? locked = Volatile.Read(ref _lock);
            throw new StoreLockedException(
                $"{locked?.Reason ?? "the store locked"} — it has unlocked since, but its lock shredded this import's temp files with the per-boot key; nothing was imported, run the import again",
                locked?.Time ?? DateTimeOffset.UtcNow);
        }
        _ct.ThrowIfCancellationRequested();
        return step(session);
    });

    /// <summary>Called inside steps: stop at once on cancellation or when the store starts locking.</summary>
    private void CheckAbort()
    {
        _ct.ThrowIfCancellationRequested();
        if (_store.State == StoreState.Locked)
        {
            throw new StoreLockedException(_store.LockReason ?? "the store is locking", Volatile.Read(ref _lock)?.Time ?? DateTimeOffset.UtcNow);
        }
    }

    private void OnStateChanged(object? sender, StoreStateChange change)
    {
        if (change.NewState == StoreState.Locked)
        {
            Interlocked.CompareExchange(ref _lock, change, null);
        }
    }

    private void DeleteTempFiles()
    {
        foreach (RunWriter writer in _writers)
        {
            foreach (RunChunk chunk in writer.Chunks)
            {
                Files.StoreFiles.TryDeleteFileOnDisk(chunk.Path);
            }
        }
        _writers.Clear();
    }

    /// <summary>Reports progress on the importing thread, never inside the gate (a handler may even lock or close the store).</summary>
    private void Report(BulkImportPhase phase) =>
        _progress?.Report(new BulkImportProgress(phase, _entriesRead, _bytesRead, _runsSpilled, _spillBytes,
            _stage?.Entries ?? 0, _stage?.Files.Count ?? 0, _stage?.Bytes ?? 0));
}
