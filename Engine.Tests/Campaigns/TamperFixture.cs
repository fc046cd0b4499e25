using System.Text;
using Engine.Crypto;

namespace Engine.Tests.Campaigns;

/// <summary>What a file of the tamper store is, for aiming mutations and reading their outcome.</summary>
internal enum FileRole
{
    LiveSst,
    ObsoleteSst,
    Wal,
    Manifest,
    Current,
    Identity,
    Options,
    Log,
    OldLog,

    /// <summary>The engine's sealed record of the store's live log files (EKV-LIVELOGS).</summary>
    LiveLogRecord,

    /// <summary>The key registry in force (<c>KEYRING</c>).</summary>
    Keyring,

    /// <summary>The registry's previous generation (<c>KEYRING.prev</c>).</summary>
    KeyringPrevious,

    /// <summary>The header regions of many SSTs at once.</summary>
    SstHeaders,

    /// <summary>The whole store directory.</summary>
    WholeStore,

    /// <summary>A crypto-shred marker file (<c>ns/&lt;id&gt;.shred</c>).</summary>
    ShredMarker,
}

/// <summary>
/// The store the tamper campaign mutates: three namespaces with compacted (L1) and flushed (L0) SSTs, a
/// live WAL holding synced writes that were never flushed, MANIFEST, OPTIONS, CURRENT, IDENTITY, the info
/// LOG and an older LOG, plus a copy of an SST that compaction made obsolete; the KEKs of one namespace and
/// of the system scope were rotated (headers re-wrapped into slot B, old versions retired). Built once,
/// closed, and kept as a snapshot; <see cref="Older"/> is the same store one open earlier (for header
/// replays).
/// </summary>
internal sealed class TamperFixture : IDisposable
{
    public static readonly string[] Namespaces = ["alpha", "beta", "gamma"];

    private TamperFixture()
    {
        // Every mutation reopens the store, and an open syncs a dozen files: on tmpfs those syncs are
        // free, which makes the campaign several times faster. Nothing here is about durability.
        string parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        Root = Path.Combine(parent, "ekv-tamper-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        StorePath = Path.Combine(Root, "store");
        KeyPath = Path.Combine(Root, "cmek.key");
        LocalKeyFileCmek.Create(KeyPath).Dispose();
        Snapshot = Path.Combine(Root, "snapshot");
        Older = Path.Combine(Root, "older");
        Work = Path.Combine(Root, "work");
        OtherStore = Path.Combine(Root, "other");
        AnchorPath = Path.Combine(Root, "anchor");
        _anchorSnapshot = Path.Combine(Root, "anchor.snapshot");
        PreRotationRegistry = Path.Combine(Root, "pre-rotation-registry");
        NewerRegistry = Path.Combine(Root, "newer-registry");
    }

    private readonly string _anchorSnapshot;

    /// <summary>The fixture's own directory (deleted on dispose).</summary>
    public string Root { get; }

    private string StorePath { get; }

    /// <summary>The closed store every mutation starts from (never opened again).</summary>
    public string Snapshot { get; }

    /// <summary>The same store after its first close (before the second open).</summary>
    public string Older { get; }

    /// <summary>Where each mutation is applied and the store opened.</summary>
    public string Work { get; }

    public string CmekUri => "file:" + KeyPath;

    /// <summary>
    /// The rollback anchor record of the snapshot's store (a <see cref="FileRollbackAnchor"/> at this path,
    /// restored with <see cref="Work"/>): the store was built with it, so it holds the snapshot's epoch.
    /// </summary>
    public string AnchorPath { get; }

    /// <summary>Another store made with the same key file (the identity swap), closed, never opened again.</summary>
    public string OtherStore { get; }

    /// <summary><c>KEYRING</c> and <c>KEYRING.prev</c> as they were just before the KEK rotations.</summary>
    public string PreRotationRegistry { get; }

    /// <summary>
    /// <c>KEYRING</c> and <c>KEYRING.prev</c> of the snapshot's store after one more open, a write and a
    /// clean close: a newer registry than the snapshot's data files (older data under the current registry).
    /// </summary>
    public string NewerRegistry { get; }

    /// <summary>The store id of the snapshot's store (what a pinned application expects).</summary>
    public string StoreId { get; private set; } = string.Empty;

    /// <summary>The store id of <see cref="OtherStore"/>.</summary>
    public string OtherStoreId { get; private set; } = string.Empty;

    /// <summary>Content of every namespace of <see cref="Older"/> (the store one open earlier).</summary>
    public IReadOnlyList<SortedDictionary<string, byte[]>> OlderModel { get; private set; } = [];

    /// <summary>Content of every namespace of <see cref="OtherStore"/>.</summary>
    public IReadOnlyList<SortedDictionary<string, byte[]>> OtherModel { get; private set; } = [];

    public string KeyPath { get; }

    /// <summary>Expected content of every namespace after every write.</summary>
    public IReadOnlyList<SortedDictionary<string, byte[]>> Model { get; private set; } = [];

    /// <summary>Keys that were deleted (reading any of them back is wrong data).</summary>
    public IReadOnlyList<HashSet<string>> Deleted { get; private set; } = [];

    /// <summary>
    /// The expected state after only the first <c>k</c> of the synced writes that sit unflushed in the
    /// live WAL (index k, 0..count): what a reader may legitimately see when the WAL's tail is lost.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<SortedDictionary<string, byte[]>>> WalPrefixModels { get; private set; } = [];

    /// <summary>Header regions of the files that existed before the KEK rotations (relative path → 1024 bytes).</summary>
    public IReadOnlyDictionary<string, byte[]> PreRotationHeaders { get; private set; } = new Dictionary<string, byte[]>();

    /// <summary>Relative paths of the copies of obsolete SSTs placed into the snapshot.</summary>
    public IReadOnlyList<string> ObsoleteFiles { get; private set; } = [];

    public static FileRole RoleOf(string relativePath, IReadOnlyList<string> obsolete)
    {
        string name = Path.GetFileName(relativePath);
        if (obsolete.Contains(relativePath))
        {
            return FileRole.ObsoleteSst;
        }
        if (name.EndsWith(".sst", StringComparison.Ordinal))
        {
            return FileRole.LiveSst;
        }
        if (name.EndsWith(".log", StringComparison.Ordinal))
        {
            return FileRole.Wal;
        }
        if (name.StartsWith("MANIFEST-", StringComparison.Ordinal))
        {
            return FileRole.Manifest;
        }
        if (name.StartsWith("OPTIONS-", StringComparison.Ordinal))
        {
            return FileRole.Options;
        }
        if (name.StartsWith("LOG.old.", StringComparison.Ordinal))
        {
            return FileRole.OldLog;
        }
        return name switch
        {
            "CURRENT" => FileRole.Current,
            "IDENTITY" => FileRole.Identity,
            "LOG" => FileRole.Log,
            Engine.Files.LiveLogRecord.FileName => FileRole.LiveLogRecord,
            _ => throw new InvalidOperationException($"unexpected file {relativePath} in the tamper store"),
        };
    }

    /// <summary>Plugin files of a store directory (relative paths): everything but LOCK and the key registry.</summary>
    public static List<string> PluginFilesOf(string root) =>
        [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Where(f => Path.GetFileName(f) != "LOCK" && !Path.GetFileName(f).StartsWith("KEYRING", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    public static byte[] Value(int ns, string key, int generation, int length)
    {
        byte[] v = new byte[length];
        long keyHash = 17;
        foreach (char c in key)
        {
            keyHash = (keyHash * 31) + c;
        }
        new Random(CrashWorkload.Mix(ns * 131 + generation, keyHash)).NextBytes(v);
        byte[] tag = Encoding.ASCII.GetBytes($"{Namespaces[ns]}/{key}/g{generation}/");
        tag.AsSpan(0, Math.Min(tag.Length, v.Length)).CopyTo(v);
        return v;
    }

    public static TamperFixture Build()
    {
        var f = new TamperFixture();
        try
        {
            f.BuildStore();
            return f;
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    private void BuildStore()
    {
        var model = Namespaces.Select(_ => new SortedDictionary<string, byte[]>(StringComparer.Ordinal)).ToArray();
        var deleted = Namespaces.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        var rng = new Random(20260101); // the store's content is fixed; the campaign seed only drives mutations
        void Put(StoreNamespace[] ns, int n, string key, int generation, bool sync = false)
        {
            byte[] v = Value(n, key, generation, rng.Next(40, 420));
            ns[n].Put(Encoding.ASCII.GetBytes(key), v, sync);
            model[n][key] = v;
            deleted[n].Remove(key);
        }
        void Delete(StoreNamespace[] ns, int n, string key, bool sync = false)
        {
            ns[n].Delete(Encoding.ASCII.GetBytes(key), sync);
            if (model[n].Remove(key))
            {
                deleted[n].Add(key);
            }
        }

        string store = StorePath;
        List<string> afterFirstCompaction;
        string buildAnchor = AnchorPath;
        using (EncryptedStore s = EncryptedStore.Open(new StoreOptions { Path = store, CmekUri = CmekUri, RollbackAnchor = new FileRollbackAnchor(buildAnchor) }))
        {
            StoreId = s.StoreId;
            StoreNamespace[] ns = [.. Namespaces.Select(s.GetNamespace)];
            for (int n = 0; n < ns.Length; n++)
            {
                for (int i = 0; i < 150; i++)
                {
                    Put(ns, n, $"a{i:D3}", 1);
                }
            }
            s.Flush();
            for (int n = 0; n < ns.Length; n++)
            {
                for (int i = 0; i < 150; i += 3)
                {
                    Put(ns, n, $"a{i:D3}", 2);
                }
                for (int i = 1; i < 150; i += 7)
                {
                    Delete(ns, n, $"a{i:D3}");
                }
            }
            s.Flush();
            s.Compact(); // L1
            for (int n = 0; n < ns.Length; n++)
            {
                for (int i = 0; i < 40; i++)
                {
                    Put(ns, n, $"c{i:D3}", 1);
                }
            }
            s.Flush(); // one L0 SST per namespace, made obsolete by the next compaction
            afterFirstCompaction = PluginFilesOf(store);
        }
        CopyTree(store, Older);
        OlderModel = Clone(model);

        var walBase = Array.Empty<SortedDictionary<string, byte[]>>();
        Dictionary<string, byte[]> preRotation;
        var walOps = new List<(int Ns, string Key, byte[]? Value)>();
        using (EncryptedStore s = EncryptedStore.Open(new StoreOptions { Path = store, CreateIfMissing = false, RollbackAnchor = new FileRollbackAnchor(buildAnchor) }))
        {
            StoreNamespace[] ns = [.. Namespaces.Select(s.GetNamespace)];
            for (int n = 0; n < ns.Length; n++)
            {
                for (int i = 0; i < 50; i++)
                {
                    Put(ns, n, $"d{i:D3}", 1);
                }
                for (int i = 2; i < 150; i += 5)
                {
                    Put(ns, n, $"a{i:D3}", 3);
                }
                Delete(ns, n, "c005");
            }
            s.Flush();
            s.Compact(); // everything to L1: the first open's L0 SSTs become obsolete

            // KEK rotation of one namespace and of the system scope: the header of every existing file of
            // those scopes is re-wrapped into slot B (generation 2) and the old KEK versions are retired.
            preRotation = PluginFilesOf(store).ToDictionary(rel => rel, rel => File.ReadAllBytes(Path.Combine(store, rel))[..FileGeometry.HeaderRegion]);
            Directory.CreateDirectory(PreRotationRegistry);
            File.Copy(Path.Combine(store, KeyRegistry.FileName), Path.Combine(PreRotationRegistry, KeyRegistry.FileName));
            File.Copy(Path.Combine(store, KeyRegistry.PreviousFileName), Path.Combine(PreRotationRegistry, KeyRegistry.PreviousFileName));
            s.Keys.RotationFilesPerSecond = 0;
            s.Keys.RotateNamespaceKey(Namespaces[0]);
            s.Keys.RotateSystemKey();
            s.Keys.WaitForRotationsAsync().GetAwaiter().GetResult();
            for (int n = 0; n < ns.Length; n++)
            {
                for (int i = 0; i < 30; i++)
                {
                    Put(ns, n, $"e{i:D3}", 1);
                }
            }
            s.Flush(); // L0 (with the recovery flush of each open: 2 L0 files, below the compaction trigger)

            // The live WAL: individually synced writes, never flushed (each its own short frame).
            walBase = [.. model.Select(m => new SortedDictionary<string, byte[]>(m, StringComparer.Ordinal))];
            for (int i = 0; i < 24; i++)
            {
                int n = i % ns.Length;
                if (i % 6 == 5)
                {
                    string key = $"a{(i * 11) % 150:D3}";
                    Delete(ns, n, key, sync: true);
                    walOps.Add((n, key, null));
                }
                else
                {
                    string key = i % 4 == 0 ? $"a{(i * 13) % 150:D3}" : $"w{i:D3}";
                    Put(ns, n, key, 4, sync: true);
                    walOps.Add((n, key, model[n][key]));
                }
            }
        }
        CopyTree(store, Snapshot);
        File.Copy(buildAnchor, _anchorSnapshot);
        using (EncryptedStore s = EncryptedStore.Open(new StoreOptions { Path = store, CreateIfMissing = false, RollbackAnchor = new FileRollbackAnchor(buildAnchor) }))
        {
            // The store goes on after the snapshot: its registry becomes newer than the snapshot's data files.
            s.GetNamespace(Namespaces[1]).Put("newer"u8.ToArray(), "after the snapshot"u8.ToArray(), sync: true);
        }
        Directory.CreateDirectory(NewerRegistry);
        File.Copy(Path.Combine(store, KeyRegistry.FileName), Path.Combine(NewerRegistry, KeyRegistry.FileName));
        File.Copy(Path.Combine(store, KeyRegistry.PreviousFileName), Path.Combine(NewerRegistry, KeyRegistry.PreviousFileName));
        BuildOtherStore();

        // Copies of SSTs that compaction deleted: not referenced by the MANIFEST, RocksDB removes them at open.
        var obsolete = new List<string>();
        foreach (string rel in afterFirstCompaction.Where(r => r.EndsWith(".sst", StringComparison.Ordinal)))
        {
            string to = Path.Combine(Snapshot, rel);
            if (!File.Exists(to) && obsolete.Count < 2)
            {
                File.Copy(Path.Combine(Older, rel), to);
                obsolete.Add(rel);
            }
        }
        if (obsolete.Count == 0)
        {
            throw new InvalidOperationException("the tamper store has no obsolete SST to copy back (did compaction keep them?)");
        }

        var prefixes = new List<IReadOnlyList<SortedDictionary<string, byte[]>>>();
        var state = walBase.Select(m => new SortedDictionary<string, byte[]>(m, StringComparer.Ordinal)).ToArray();
        prefixes.Add(Clone(state));
        foreach ((int n, string key, byte[]? value) in walOps)
        {
            if (value is null)
            {
                state[n].Remove(key);
            }
            else
            {
                state[n][key] = value;
            }
            prefixes.Add(Clone(state));
        }

        Model = model;
        Deleted = deleted;
        PreRotationHeaders = preRotation;
        WalPrefixModels = prefixes;
        ObsoleteFiles = obsolete;
        Directory.Delete(store, recursive: true);
    }

    /// <summary>A second, small store under the same key file: same namespace names, its own content and id.</summary>
    private void BuildOtherStore()
    {
        var model = Namespaces.Select(_ => new SortedDictionary<string, byte[]>(StringComparer.Ordinal)).ToArray();
        using (EncryptedStore s = EncryptedStore.Open(new StoreOptions { Path = OtherStore, CmekUri = CmekUri }))
        {
            OtherStoreId = s.StoreId;
            for (int n = 0; n < Namespaces.Length; n++)
            {
                StoreNamespace ns = s.GetNamespace(Namespaces[n]);
                for (int i = 0; i < 20; i++)
                {
                    // The same keys as the real store's, other values: a swap must never read as the real store.
                    string key = $"a{i:D3}";
                    byte[] v = Value(n, key, 90, 64);
                    ns.Put(Encoding.ASCII.GetBytes(key), v, sync: i == 19);
                    model[n][key] = v;
                }
            }
            s.Flush();
        }
        OtherModel = model;
    }

    private static SortedDictionary<string, byte[]>[] Clone(SortedDictionary<string, byte[]>[] s) =>
        [.. s.Select(m => new SortedDictionary<string, byte[]>(m, StringComparer.Ordinal))];

    /// <summary>Replaces <see cref="Work"/> with a fresh copy of the snapshot.</summary>
    public void Restore()
    {
        if (Directory.Exists(Work))
        {
            Directory.Delete(Work, recursive: true);
        }
        CopyTree(Snapshot, Work);
        File.Copy(_anchorSnapshot, AnchorPath, overwrite: true);
    }

    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
