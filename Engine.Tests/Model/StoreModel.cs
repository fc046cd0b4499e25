using System.Collections.Immutable;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>Where the model says the store is: the engine's <see cref="StoreState"/>, plus closed (not open at all).</summary>
internal enum ModelState
{
    Open,
    Degraded,
    Locked,
    Closed,
}

/// <summary>Which store the model runs against.</summary>
internal enum StoreBackend
{
    /// <summary>Engine.Testing's <see cref="InMemoryStore"/> (RocksDB's in-memory env under the plugin).</summary>
    InMemory,

    /// <summary>A store directory on disk; supports Verify and crash (SIGKILL of a child process).</summary>
    Directory,
}

/// <summary>The fixed parameters of one run, chosen by FsCheck with the run.</summary>
internal sealed record StoreSetup(StoreBackend Backend, int FrameSize, bool AutoUnlock, bool WithCrashes)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Backend} store, frame {FrameSize} B, AutoUnlock {AutoUnlock}{(WithCrashes ? ", crashes" : string.Empty)}");
}

/// <summary>
/// The pure model of a store: every namespace as a sorted map from key to value (bytewise order, as
/// the engine), the lock state and what the CMEK answers. Immutable: each command maps one model to the next.
/// </summary>
internal sealed record StoreModel
{
    public static readonly ImmutableSortedSet<string> NoNamespaces = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    public static readonly ImmutableSortedDictionary<byte[], byte[]> EmptyNamespace =
        ImmutableSortedDictionary.Create<byte[], byte[]>(ByteArrayComparer.Instance);

    /// <summary>The engine's default <see cref="StoreOptions.MaxKeyBytes"/>; longer keys are refused with <see cref="ArgumentException"/>.</summary>
    public const int MaxKeyBytes = 64 << 10;

    public required StoreSetup Setup { get; init; }

    public static bool KeyTooLong(byte[] key) => key.Length > MaxKeyBytes;

    public ImmutableSortedDictionary<string, ImmutableSortedDictionary<byte[], byte[]>> Namespaces { get; init; } =
        ImmutableSortedDictionary.Create<string, ImmutableSortedDictionary<byte[], byte[]>>(StringComparer.Ordinal);

    /// <summary>Namespaces that exist but whose contents the model does not track (a crash child's scratch namespace).</summary>
    public ImmutableSortedSet<string> OpaqueNamespaces { get; init; } = NoNamespaces;

    public ModelState State { get; init; } = ModelState.Open;

    public TestCmekAvailability Cmek { get; init; } = TestCmekAvailability.Available;

    /// <summary>Snapshots the harness holds, by id: each with a copy of the namespaces when it was taken (see <see cref="SnapshotModel"/>).</summary>
    public ImmutableSortedDictionary<int, SnapshotModel> Snapshots { get; init; } = ImmutableSortedDictionary<int, SnapshotModel>.Empty;

    /// <summary>Id of the next snapshot taken.</summary>
    public int NextSnapshotId { get; init; } = 1;

    /// <summary>
    /// A lock or close of the store released every live snapshot (<paramref name="how"/> says which; the
    /// harness still holds them). A close also changes how one a lock released fails: the reopened store
    /// is another object, and a snapshot of the old one is refused as another store's.
    /// </summary>
    public StoreModel WithSnapshotsReleased(SnapshotStatus how) => Snapshots.IsEmpty ? this : this with
    {
        Snapshots = Snapshots.SetItems(Snapshots.Where(s => s.Value.Status == SnapshotStatus.Live || how == SnapshotStatus.ReleasedByClose)
            .Select(s => KeyValuePair.Create(s.Key, s.Value with { Status = how }))),
    };

    /// <summary>The last command must be refused with <see cref="ArgumentException"/> (it named no existing namespace).</summary>
    public bool Refused { get; init; }

    /// <summary>Namespaces the last command may have changed, checked after it; null: check every namespace.</summary>
    public ImmutableSortedSet<string>? Touched { get; init; }

    /// <summary>True when data calls succeed (they throw <see cref="StoreLockedException"/> when locked).</summary>
    public bool Serving => State is ModelState.Open or ModelState.Degraded;

    public int KeyCount => Namespaces.Values.Sum(n => n.Count);

    public IEnumerable<string> AllNamespaceNames => Namespaces.Keys.Concat(OpaqueNamespaces).Order(StringComparer.Ordinal);

    public static StoreModel Initial(StoreSetup setup) => new() { Setup = setup };

    public ImmutableSortedDictionary<byte[], byte[]> Entries(string ns) => Namespaces.GetValueOrDefault(ns) ?? EmptyNamespace;

    public bool HasNamespace(string ns) => Namespaces.ContainsKey(ns) || OpaqueNamespaces.Contains(ns);

    /// <summary>
    /// The namespace is gone (its key shredded); a later GetNamespace creates a new, empty one, which a
    /// snapshot taken before sees empty (its data is newer than the snapshot).
    /// </summary>
    public StoreModel WithoutNamespace(string ns) =>
        this with
        {
            Namespaces = Namespaces.Remove(ns),
            OpaqueNamespaces = OpaqueNamespaces.Remove(ns),
            Snapshots = Snapshots.IsEmpty ? Snapshots : Snapshots.SetItems(Snapshots.Select(s => KeyValuePair.Create(s.Key, s.Value with { Namespaces = s.Value.Namespaces.Remove(ns) }))),
        };

    /// <summary>The namespace exists afterwards (GetNamespace creates it on first use).</summary>
    public StoreModel WithNamespace(string ns) => Namespaces.ContainsKey(ns) || OpaqueNamespaces.Contains(ns)
        ? this
        : this with { Namespaces = Namespaces.Add(ns, EmptyNamespace) };

    public StoreModel Put(string ns, byte[] key, byte[] value)
    {
        StoreModel m = WithNamespace(ns);
        return m with { Namespaces = m.Namespaces.SetItem(ns, m.Entries(ns).SetItem(key, value)) };
    }

    public StoreModel Delete(string ns, byte[] key)
    {
        StoreModel m = WithNamespace(ns);
        return m with { Namespaces = m.Namespaces.SetItem(ns, m.Entries(ns).Remove(key)) };
    }

    public StoreModel Apply(WriteBatchSpec batch)
    {
        StoreModel m = this;
        foreach (BatchOperation op in batch.Operations)
        {
            m = op.Value is null ? m.Delete(op.Namespace, op.Key) : m.Put(op.Namespace, op.Key, op.Value);
        }
        return m;
    }

    public StoreModel TouchedOnly(params IEnumerable<string> names) => this with { Touched = NoNamespaces.Union(names) };

    public StoreModel TouchedAll() => this with { Touched = null };

    /// <summary>Hash of everything observable: lock state, CMEK answer, namespaces and their entries.</summary>
    public ulong Fingerprint()
    {
        var hash = new XxHash64();
        byte[] scratch = new byte[8];
        void AddInt(long v)
        {
            BitConverter.TryWriteBytes(scratch, v);
            hash.Append(scratch);
        }
        AddInt((int)State);
        AddInt((int)Cmek);
        foreach (string name in OpaqueNamespaces)
        {
            hash.Append(Encoding.UTF8.GetBytes(name));
            AddInt(-1);
        }
        foreach ((string name, ImmutableSortedDictionary<byte[], byte[]> entries) in Namespaces)
        {
            hash.Append(Encoding.UTF8.GetBytes(name));
            AddInt(entries.Count);
            foreach ((byte[] key, byte[] value) in entries)
            {
                AddInt(key.Length);
                hash.Append(key);
                AddInt(value.Length);
                AddInt((long)XxHash3.HashToUInt64(value));
            }
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// A coarse fingerprint: lock state, CMEK answer, number of namespaces and, per namespace, its key
    /// count in powers of two. Counts how many differently shaped states a run reached.
    /// </summary>
    public ulong ShapeFingerprint()
    {
        var hash = new XxHash64();
        string shape = string.Create(CultureInfo.InvariantCulture, $"{State}|{Cmek}|{Namespaces.Count + OpaqueNamespaces.Count}|")
            + string.Join(",", Namespaces.Values.Select(n => n.Count == 0 ? 0 : 1 + (int)Math.Log2(n.Count)).Order());
        hash.Append(Encoding.UTF8.GetBytes(shape));
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>One line, short enough for every step of a printed counterexample.</summary>
    public override string ToString()
    {
        string cmek = Cmek == TestCmekAvailability.Available ? string.Empty : $", CMEK {Cmek}";
        string nss = string.Join(" ", Namespaces.Take(6).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{Show.Name(kv.Key)}:{kv.Value.Count}")));
        string more = Namespaces.Count > 6 ? string.Create(CultureInfo.InvariantCulture, $" (+{Namespaces.Count - 6} more)") : string.Empty;
        int live = Snapshots.Count(s => s.Value.Status == SnapshotStatus.Live);
        string snapshots = Snapshots.IsEmpty ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"; snapshots {live} live, {Snapshots.Count - live} released");
        return $"{{{State}{cmek}; {nss}{more}{snapshots}}}";
    }
}

/// <summary>Whether a snapshot still reads: a lock releases it (use throws <see cref="StoreLockedException"/>), so does a close.</summary>
internal enum SnapshotStatus
{
    Live,
    ReleasedByLock,
    ReleasedByClose,
}

/// <summary>A snapshot the harness holds: the namespaces (and their entries) when it was taken.</summary>
internal sealed record SnapshotModel(ImmutableSortedDictionary<string, ImmutableSortedDictionary<byte[], byte[]>> Namespaces, SnapshotStatus Status)
{
    public ImmutableSortedDictionary<byte[], byte[]> Entries(string ns) => Namespaces.GetValueOrDefault(ns) ?? StoreModel.EmptyNamespace;
}

/// <summary>Readable renderings for command names and messages.</summary>
internal static class Show
{
    public static string Bytes(byte[]? bytes) => ByteDisplay.Format(bytes);

    /// <summary>A namespace name in quotes, with invisible and non-ASCII-space characters escaped.</summary>
    public static string Name(string name)
    {
        var sb = new StringBuilder("'");
        foreach (char c in name.Length > 40 ? name[..20] : name)
        {
            if ((char.IsWhiteSpace(c) && c != ' ') || char.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }
        if (name.Length > 40)
        {
            sb.Append(CultureInfo.InvariantCulture, $"...({Encoding.UTF8.GetByteCount(name)} B)");
        }
        return sb.Append('\'').ToString();
    }
}
