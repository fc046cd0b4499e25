using System.Globalization;
using System.Text;
using Engine.Interop;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// The tamper campaign's worker, run in a child process (<see cref="ChildProcess.StartInTests"/>) so
/// that a mutation which crashes the process (a native assertion on tampered input) is reported as a
/// failure of that mutation instead of aborting the test host. Builds the tamper store, then for each
/// mutation applies it, opens and reads the store, and reports the verdict (protocol: <see cref="WorkerCampaign"/>).
/// </summary>
internal static class TamperWorker
{
    // Verdicts. Everything starting with "FAIL" fails the campaign.
    public const string Detected = "integrity error";
    public const string InertSlot = "inert: header slot not in force (the active slot untouched and still chosen)";
    public const string InertFallback = "inert: active slot damaged, reader fell back to the other valid wrap of the same DEK";
    public const string RetiredKek = "key unavailable: the header now names a retired KEK version";
    public const string InertObsolete = "inert: obsolete file (removed at open, never read)";
    public const string InertOldOptions = "inert: superseded OPTIONS file (removed at open, never read)";
    public const string TornNothingLost = "torn tail (<= 1 frame), nothing lost";
    public const string TornWalLoss = "torn WAL tail: the last synced write lost (documented limit)";
    public const string InertInfoLog = "inert: info LOG (RocksDB's diagnostics, written but never read back; holds no data)";
    public const string InertEmptyFrames = "inert: cut removed only empty frames (a sync marker), no byte of the file lost";
    public const string InertPlanted = "inert: an older file the store no longer references (removed at open, never read)";

    // Verdicts of the registry, rollback, marker and identity kinds (JudgeTrust).
    public const string OlderState = "older state: a rollback without an anchor (documented); the store reads back exactly as the older one";
    public const string OtherStore = "other store: a swap without ExpectedStoreId (documented); reads back exactly as that store";
    public const string InertMarker = "inert: forged shred marker ignored and reported in OpenNotes, nothing deleted";
    public const string InertTornRegistry = "inert: KEYRING provably torn (checksum), fell back to KEYRING.prev and said so in OpenNotes";
    public const string InertPrevious = "inert: KEYRING.prev is read only when KEYRING is torn; KEYRING intact";
    public const string UnsupportedRegistry = "refused: KEYRING's format version altered (EngineException: unknown version, documented)";
    public const string RootUnwrapFails = "key unavailable: the altered wrapped root KEK does not unwrap (as with a wrong CMEK)";
    public const string NoRegistry = "refused: no key registry left (EngineException: not a store, nothing written)";
    public const string OlderRegistryLacksKek = "key unavailable: files use a KEK version the restored older registry does not hold";

    internal sealed record Outcome(string Verdict, string Detail, bool NamesTarget = false);

    /// <summary>Arguments: seed, first mutation index, end index (exclusive).</summary>
    public static int ChildMain(string[] args)
    {
        int seed = int.Parse(args[0], CultureInfo.InvariantCulture);
        int first = int.Parse(args[1], CultureInfo.InvariantCulture);
        int end = int.Parse(args[2], CultureInfo.InvariantCulture);
        using var emit = new WorkerCampaign.Emitter();
        using TamperFixture fixture = TamperFixture.Build();
        emit.Scratch(fixture.Work, fixture.KeyPath);
        var mutator = new TamperMutator(fixture);
        fixture.Restore();
        using var plugin = new PluginFiles(fixture.Work, fixture.CmekUri);
        int kept = 0;
        for (int i = first; i < end; i++)
        {
            MutationKind kind = TamperMutator.Kinds[i % TamperMutator.Kinds.Length];
            var rng = new Random(CrashWorkload.Mix(seed, i));
            Mutation? m = null;
            for (int attempt = 0; attempt < 20 && m is null; attempt++)
            {
                fixture.Restore();
                m = mutator.Apply(kind, rng);
            }
            if (m is null)
            {
                emit.Result(i, "FAIL no applicable target", false, kind.ToString(), "-", kind.ToString(), "the tamper store lacks a file this kind needs");
                continue;
            }
            emit.Begin(i, m.ToString());
            Outcome o;
            try
            {
                o = m.Trust is null ? Judge(fixture, plugin, m) : JudgeTrust(fixture, m, m.Trust);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                o = new Outcome($"FAIL harness: {ex.GetType().Name}", ex.ToString());
            }
            string detail = o.Detail;
            if (o.Verdict.StartsWith("FAIL", StringComparison.Ordinal) && kept++ < 10) // a few post-mortems, not a disk full of them
            {
                detail += $" (store kept at {CampaignLog.Preserve(fixture.Work, fixture.KeyPath, $"tamper-{seed}-{i}")})";
            }
            emit.Result(i, o.Verdict, o.NamesTarget, m.Kind.ToString(), m.Role.ToString(), m.ToString(), detail);
        }
        emit.End();
        return 0;
    }

    /// <summary>Opens the mutated store, reads everything, and classifies what happened.</summary>
    internal static Outcome Judge(TamperFixture fixture, PluginFiles plugin, Mutation m)
    {
        string target = Path.Combine(fixture.Work, m.Target);
        // The plugin's own view of the mutated file, before RocksDB touches anything.
        PluginFiles.Verdict fileVerdict = plugin.Verify(target);

        var wrong = new List<string>();
        SortedDictionary<string, byte[]>[] seen;
        bool targetGoneAfterOpen;
        try
        {
            using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = fixture.Work, CreateIfMissing = false });
            targetGoneAfterOpen = !File.Exists(target);
            seen = ReadEverything(store, fixture, wrong);
            if (wrong.Count == 0)
            {
                StoreQuiescence.WaitForBackgroundWork(store);
                store.Verify();
            }
        }
        catch (IntegrityException ex)
        {
            return wrong.Count > 0
                ? new Outcome("FAIL wrong data", $"{string.Join("; ", wrong.Take(5))} (then {ex.Message})")
                : new Outcome(Detected, ex.Message, NamesTarget: ex.Message.Contains(m.Target, StringComparison.Ordinal) || (ex.Path?.EndsWith(m.Target, StringComparison.Ordinal) ?? false));
        }
        catch (KeyUnavailableException ex)
        {
            // docs/format.md: an envelope under a retired KEK version is KeyUnavailableException. A header
            // mutation that puts such an envelope in force (an older header replayed, the re-wrapped
            // slot damaged so the superseded one applies, a header spliced from an old file) is refused
            // that way; anything else reported as key-unavailable is a misreport.
            bool retired = ex.Message.Contains("has been retired", StringComparison.Ordinal);
            return wrong.Count > 0
                ? new Outcome("FAIL wrong data", $"{string.Join("; ", wrong.Take(5))} (then {ex.Message})")
                : m.LowestTouched < FileGeometry.HeaderRegion && retired && ex.Message.Contains(m.Target, StringComparison.Ordinal)
                    ? new Outcome(RetiredKek, ex.Message, NamesTarget: true)
                    : new Outcome("FAIL key unavailable instead of integrity", ex.Message);
        }
        catch (EngineException ex)
        {
            return new Outcome("FAIL error not reported as integrity", $"{ex.GetType().Name}: {ex.Message}");
        }

        if (wrong.Count > 0)
        {
            return new Outcome("FAIL wrong data", string.Join("; ", wrong.Take(5)));
        }

        bool complete = Matches(seen, fixture.Model);
        bool logLike = !FileGeometry.IsImmutable(m.Target);
        bool tailConfined = logLike && m.LowestTouched >= FileGeometry.HeaderRegion && m.DamagedTail <= m.Before.MaxTornBytes;
        string pluginSays = $"ekv_file_verify on the mutated file: {fileVerdict.Status} ({fileVerdict.Message})";

        if (complete)
        {
            if (m.Slot == SlotEffect.InactiveSlotChanged)
            {
                return new Outcome(InertSlot, pluginSays);
            }
            if (m.Slot == SlotEffect.FellBackToOtherSlot)
            {
                return new Outcome(InertFallback, pluginSays);
            }
            // RocksDB only appends to the info LOG (and rotates it at open); nothing is read from it.
            if (m.Role is FileRole.Log or FileRole.OldLog)
            {
                return new Outcome(InertInfoLog, pluginSays);
            }
            if (m.RemovedOnlyEmptyFrames)
            {
                return new Outcome(InertEmptyFrames, pluginSays);
            }
            if (m.Planted && targetGoneAfterOpen)
            {
                return new Outcome(InertPlanted, pluginSays);
            }
            if (m.Role == FileRole.ObsoleteSst && targetGoneAfterOpen)
            {
                return new Outcome(InertObsolete, pluginSays);
            }
            // RocksDB never reads OPTIONS files at open; it writes a new one and deletes all but the two newest.
            if (m.Role == FileRole.Options && targetGoneAfterOpen)
            {
                return new Outcome(InertOldOptions, pluginSays);
            }
            if (tailConfined && fileVerdict.Status == NativeStatus.TornTail)
            {
                return new Outcome(TornNothingLost, pluginSays);
            }
            return new Outcome("FAIL undetected", $"the store opened, read back completely and verified; {pluginSays}; damaged tail {m.DamagedTail} bytes");
        }

        // Some data is missing (never altered: that was checked above). The one loss the format admits
        // (docs/format.md: the last frame of a log-like file cannot be told from a torn write) is the
        // last frame of the WAL, i.e. the last synced write (each sits in its own short frame).
        if (m.Role == FileRole.Wal && tailConfined && fileVerdict.Status == NativeStatus.TornTail)
        {
            int total = fixture.WalPrefixModels.Count - 1;
            for (int lost = 1; lost <= total; lost++)
            {
                if (Matches(seen, fixture.WalPrefixModels[total - lost]))
                {
                    return lost == 1 && m.FramesFromLowestTouched == 1
                        ? new Outcome(TornWalLoss, $"the last of {total} synced WAL writes is missing; {pluginSays}")
                        : new Outcome("FAIL silent loss of synced WAL writes", $"the last {lost} of {total} synced WAL writes are missing (the mutation starts {m.FramesFromLowestTouched} frames from the end; a torn write loses at most the last frame); {pluginSays}");
                }
            }
        }
        return new Outcome("FAIL silent data loss", $"{Missing(seen, fixture.Model)}; {pluginSays}; damaged tail {m.DamagedTail} bytes");
    }

    /// <summary>
    /// Judges a registry, rollback, marker or identity mutation: the store is opened as a pinned application
    /// opens it (its own CmekUri; with the rollback anchor and ExpectedStoreId when the case says so) and
    /// read completely. It must then read back exactly as one whole store (the current one, or for a
    /// documented rollback or swap the older or the other one, never a mix), or fail in the way the case
    /// allows; with an anchor every registry rollback must be an integrity error.
    /// </summary>
    private static Outcome JudgeTrust(TamperFixture fixture, Mutation m, TrustCase t)
    {
        var options = new StoreOptions { Path = fixture.Work, CreateIfMissing = false, CmekUri = fixture.CmekUri };
        if (t.Anchored)
        {
            options.RollbackAnchor = new Engine.Crypto.FileRollbackAnchor(fixture.AnchorPath);
        }
        if (t.PinStoreId)
        {
            options.ExpectedStoreId = fixture.StoreId;
        }
        bool swap = t.Variant == TrustVariant.SwapSameKey;
        var wrong = new List<string>();
        var seen = new SortedDictionary<string, byte[]>[TamperFixture.Namespaces.Length];
        IReadOnlyList<string> notes;
        string storeId;
        Exception? failure = null;
        try
        {
            using EncryptedStore store = EncryptedStore.Open(options);
            notes = store.OpenNotes;
            storeId = store.StoreId;
            ReadWhole(store, fixture, swap, seen, wrong);
            if (wrong.Count == 0)
            {
                StoreQuiescence.WaitForBackgroundWork(store);
                store.Verify();
            }
        }
        catch (EngineException ex)
        {
            failure = ex;
            notes = [];
            storeId = string.Empty;
        }

        if (wrong.Count > 0)
        {
            return new Outcome("FAIL wrong data", $"{string.Join("; ", wrong.Take(5))}{(failure is null ? string.Empty : $" (then {failure.Message})")}");
        }
        string msg = failure?.Message ?? string.Empty;
        bool rollbackAnchored = t.Anchored && t.IsRegistryRollback;
        switch (failure)
        {
            case IntegrityException:
                return new Outcome(Detected, msg, NamesTarget: msg.Contains(m.Target, StringComparison.Ordinal));
            case not null when rollbackAnchored:
                return new Outcome("FAIL rollback with an anchor not refused as integrity", $"{failure.GetType().Name}: {msg}");
            case KeyUnavailableException when msg.Contains("has been retired", StringComparison.Ordinal)
                && t.Variant is TrustVariant.SstHeadersOnly or TrustVariant.OlderStoreButCurrentRegistry:
                return new Outcome(RetiredKek, msg);
            case KeyUnavailableException when t.Variant == TrustVariant.FlipKeyringChecksumFixed && t.Field == "wrapped root KEK":
                return new Outcome(RootUnwrapFails, msg);
            case KeyUnavailableException when t.IsRegistryRollback && t.Variant != TrustVariant.OlderKeyringOnly && t.Variant != TrustVariant.PreRotationKeyringOnly:
                return new Outcome(OlderRegistryLacksKek, msg);
            case EngineException when failure.GetType() == typeof(EngineException) && t.Variant == TrustVariant.FlipKeyringChecksumFixed && t.Field == "format version":
                return new Outcome(UnsupportedRegistry, msg);
            case EngineException when failure.GetType() == typeof(EngineException) && t.Variant == TrustVariant.DeleteBoth:
                return new Outcome(NoRegistry, msg);
            case not null:
                return new Outcome($"FAIL {failure.GetType().Name} not allowed for this case", msg);
        }

        // It opened and read back without a wrong value: which whole store is it?
        bool current = Matches(seen, fixture.Model);
        bool older = Matches(seen, fixture.OlderModel);
        bool other = swap && Matches(seen, fixture.OtherModel);
        string state = current ? "the current store" : older ? "the older store" : other ? "the other store" : $"no whole store ({Missing(seen, fixture.Model)})";
        if (rollbackAnchored)
        {
            return new Outcome("FAIL rollback with an anchor opened", $"read back {state}");
        }
        string fallback = notes.FirstOrDefault(n => n.Contains("provably torn", StringComparison.Ordinal)) ?? string.Empty;
        string markerNote = notes.FirstOrDefault(n => n.Contains("ignored the unauthenticated marker file", StringComparison.Ordinal) && n.Contains(m.Target, StringComparison.Ordinal)) ?? string.Empty;
        return t.Variant switch
        {
            TrustVariant.WholeOlderStore when older && !t.Anchored => new Outcome(OlderState, "read back exactly the store one open earlier"),
            TrustVariant.SwapSameKey when other && !t.Anchored && !t.PinStoreId && storeId == fixture.OtherStoreId => new Outcome(OtherStore, $"store {storeId} served"),
            TrustVariant.Marker when current && markerNote.Length > 0 && File.Exists(Path.Combine(fixture.Work, m.Target)) => new Outcome(InertMarker, markerNote),
            TrustVariant.FlipKeyring when current && fallback.Length > 0 && !t.Anchored => new Outcome(InertTornRegistry, fallback),
            TrustVariant.FlipPrevious or TrustVariant.FlipPreviousChecksumFixed or TrustVariant.DeletePrevious when current && fallback.Length == 0 && notes.Count == 0 =>
                new Outcome(InertPrevious, "opened from KEYRING, no note"),
            _ => new Outcome(current ? "FAIL undetected" : "FAIL silent rollback, loss or mix", $"opened and read back {state}; notes: {string.Join(" | ", notes)}"),
        };
    }

    /// <summary>Scans every namespace and gets every key of every model; records values no legitimate state holds.</summary>
    private static void ReadWhole(EncryptedStore store, TamperFixture fixture, bool swap, SortedDictionary<string, byte[]>[] seen, List<string> wrong)
    {
        IEnumerable<IReadOnlyList<SortedDictionary<string, byte[]>>> states = swap
            ? [fixture.OtherModel, .. fixture.WalPrefixModels, fixture.OlderModel]
            : [.. fixture.WalPrefixModels, fixture.OlderModel];
        bool Legitimate(int n, string key, byte[] value) => states.Any(s => s[n].TryGetValue(key, out byte[]? v) && v.AsSpan().SequenceEqual(value));
        foreach (string name in store.ListNamespaces().Where(x => !TamperFixture.Namespaces.Contains(x)))
        {
            wrong.Add($"namespace {name} never existed");
        }
        for (int n = 0; n < seen.Length; n++)
        {
            seen[n] = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            if (!store.TryGetNamespace(TamperFixture.Namespaces[n], out StoreNamespace? ns))
            {
                continue; // a missing namespace is judged by the whole-store comparison (never a match)
            }
            foreach (KeyValuePair<byte[], byte[]> kv in ns.Scan())
            {
                string key = Encoding.ASCII.GetString(kv.Key);
                if (!Legitimate(n, key, kv.Value))
                {
                    wrong.Add($"scan {TamperFixture.Namespaces[n]}/{key}: a value no store state held");
                }
                seen[n][key] = kv.Value;
            }
            foreach (string key in states.SelectMany(s => s[n].Keys).Concat(fixture.Deleted[n]).Distinct())
            {
                byte[]? got = ns.Get(Encoding.ASCII.GetBytes(key));
                if ((got is null) != !seen[n].ContainsKey(key) || (got is not null && !got.AsSpan().SequenceEqual(seen[n][key])))
                {
                    wrong.Add($"{TamperFixture.Namespaces[n]}/{key}: Get and Scan disagree");
                }
            }
        }
    }

    /// <summary>Scans every namespace and gets every key ever written; records any value that is not the model's.</summary>
    private static SortedDictionary<string, byte[]>[] ReadEverything(EncryptedStore store, TamperFixture fixture, List<string> wrong)
    {
        var seen = new SortedDictionary<string, byte[]>[TamperFixture.Namespaces.Length];
        for (int n = 0; n < seen.Length; n++)
        {
            seen[n] = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            if (!store.TryGetNamespace(TamperFixture.Namespaces[n], out StoreNamespace? ns))
            {
                wrong.Add($"namespace {TamperFixture.Namespaces[n]} is missing");
                continue;
            }
            foreach (KeyValuePair<byte[], byte[]> kv in ns.Scan())
            {
                string key = Encoding.ASCII.GetString(kv.Key);
                if (!IsExpected(fixture, n, key, kv.Value))
                {
                    wrong.Add($"scan {TamperFixture.Namespaces[n]}/{key}: {Describe(fixture, n, key, kv.Value)}");
                }
                seen[n][key] = kv.Value;
            }
            foreach (string key in fixture.Model[n].Keys.Concat(fixture.Deleted[n]))
            {
                byte[]? got = ns.Get(Encoding.ASCII.GetBytes(key));
                if (got is not null && !IsExpected(fixture, n, key, got))
                {
                    wrong.Add($"get {TamperFixture.Namespaces[n]}/{key}: {Describe(fixture, n, key, got)}");
                }
                if ((got is null) != !seen[n].ContainsKey(key))
                {
                    wrong.Add($"{TamperFixture.Namespaces[n]}/{key}: Get and Scan disagree");
                }
            }
        }
        return seen;
    }

    /// <summary>The final value, or (for keys the unflushed WAL writes changed) the value of an earlier WAL prefix.</summary>
    private static bool IsExpected(TamperFixture fixture, int n, string key, byte[] value) =>
        fixture.WalPrefixModels.Any(state => state[n].TryGetValue(key, out byte[]? v) && v.AsSpan().SequenceEqual(value));

    private static string Describe(TamperFixture fixture, int n, string key, byte[] value) =>
        fixture.Model[n].TryGetValue(key, out byte[]? want)
            ? $"{value.Length} bytes differing from the expected {want.Length}"
            : fixture.Deleted[n].Contains(key) ? "a deleted key came back" : "a key never written";

    private static bool Matches(SortedDictionary<string, byte[]>[] seen, IReadOnlyList<SortedDictionary<string, byte[]>> model) =>
        seen.Zip(model).All(p => p.First.Count == p.Second.Count
            && p.Second.All(kv => p.First.TryGetValue(kv.Key, out byte[]? v) && v.AsSpan().SequenceEqual(kv.Value)));

    private static string Missing(SortedDictionary<string, byte[]>[] seen, IReadOnlyList<SortedDictionary<string, byte[]>> model)
    {
        var missing = new List<string>();
        for (int n = 0; n < seen.Length; n++)
        {
            missing.AddRange(model[n].Keys.Where(k => !seen[n].ContainsKey(k)).Select(k => $"{TamperFixture.Namespaces[n]}/{k}"));
        }
        return $"{missing.Count} key(s) missing: {string.Join(", ", missing.Take(10))}";
    }

}
