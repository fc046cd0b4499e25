using System.Collections.Immutable;
using System.Globalization;
using Engine.Testing;

namespace Engine.Tests.Model;

/// <summary>Thrown when the store and the model disagree; the message says where, in model terms.</summary>
internal sealed class ModelMismatchException : Exception
{
    public ModelMismatchException(string message)
        : base(message)
    {
    }

    public ModelMismatchException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ModelMismatchException()
    {
    }
}

/// <summary>Compares a store with the model after every command.</summary>
internal static class ModelCheck
{
    /// <summary>Above this many namespaces only the ones the command touched are scanned (all are listed).</summary>
    private const int FullScanNamespaceLimit = 24;

    public static void Fail(string message) => throw new ModelMismatchException(message);

    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            Fail(message);
        }
    }

    /// <summary>
    /// The store's state equals the model's; while serving, its namespace list equals the model's, and
    /// the touched namespaces (every namespace when the command was structural or there are few)
    /// scan and read back exactly the model's entries.
    /// </summary>
    public static void Matches(StoreHarness harness, StoreModel model)
    {
        if (model.State == ModelState.Closed)
        {
            That(!harness.IsOpen, "the model has the store closed, but it is open");
            return;
        }
        That(harness.IsOpen, "the store is closed, but the model has it open");
        EncryptedStore store = harness.Store;
        StoreState expected = model.State switch
        {
            ModelState.Open => StoreState.Open,
            ModelState.Degraded => StoreState.Degraded,
            _ => StoreState.Locked,
        };
        That(store.State == expected, $"store state is {store.State}, the model expects {expected}");
        if (model.State == ModelState.Locked)
        {
            ExpectLocked(() => store.ListNamespaces(), "ListNamespaces while locked");
            return;
        }

        string[] names = [.. model.AllNamespaceNames];
        IReadOnlyList<string> listed = store.ListNamespaces();
        That(names.SequenceEqual(listed), $"namespaces are [{string.Join(", ", listed.Select(Show.Name))}], the model has [{string.Join(", ", names.Select(Show.Name))}]");

        IEnumerable<string> toScan = model.Touched is null || model.Namespaces.Count <= FullScanNamespaceLimit
            ? model.Namespaces.Keys
            : model.Touched.Where(model.Namespaces.ContainsKey);
        foreach (string name in toScan)
        {
            NamespaceMatches(store, name, model.Entries(name));
        }
    }

    /// <summary>A full scan returns exactly <paramref name="entries"/>, and point reads agree.</summary>
    public static void NamespaceMatches(EncryptedStore store, string name, ImmutableSortedDictionary<byte[], byte[]> entries)
    {
        That(store.TryGetNamespace(name, out StoreNamespace? ns), $"namespace {Show.Name(name)} is missing");
        SameEntries(ns!.Scan((byte[]?)null, null), entries, $"scan of {Show.Name(name)}");
        int step = Math.Max(1, entries.Count / 16);
        int i = 0;
        foreach ((byte[] key, byte[] value) in entries)
        {
            if (i++ % step == 0)
            {
                SameValue(ns.Get(key), value, $"Get({Show.Name(name)}, {Show.Bytes(key)})");
            }
        }
    }

    /// <summary>The enumeration yields exactly the expected pairs, in order; reports the first difference.</summary>
    public static void SameEntries(IEnumerable<KeyValuePair<byte[], byte[]>> actual, IEnumerable<KeyValuePair<byte[], byte[]>> expected, string what)
    {
        using IEnumerator<KeyValuePair<byte[], byte[]>> a = actual.GetEnumerator();
        using IEnumerator<KeyValuePair<byte[], byte[]>> e = expected.GetEnumerator();
        for (int index = 0; ; index++)
        {
            bool hasA = a.MoveNext();
            bool hasE = e.MoveNext();
            if (!hasA && !hasE)
            {
                return;
            }
            string at = string.Create(CultureInfo.InvariantCulture, $"{what}, entry #{index}");
            if (!hasE)
            {
                Fail($"{at}: the store returns {Show.Bytes(a.Current.Key)}={Show.Bytes(a.Current.Value)}, the model has no more entries");
            }
            if (!hasA)
            {
                Fail($"{at}: the store ends, the model has {Show.Bytes(e.Current.Key)}={Show.Bytes(e.Current.Value)}");
            }
            if (!ByteArrayComparer.Instance.Equals(a.Current.Key, e.Current.Key))
            {
                Fail($"{at}: the store returns key {Show.Bytes(a.Current.Key)}, the model expects {Show.Bytes(e.Current.Key)}");
            }
            SameValue(a.Current.Value, e.Current.Value, $"{at} (key {Show.Bytes(e.Current.Key)})");
        }
    }

    public static void SameValue(byte[]? actual, byte[]? expected, string what)
    {
        if (!ByteArrayComparer.Instance.Equals(actual, expected))
        {
            Fail($"{what}: the store returns {Show.Bytes(actual)}, the model expects {Show.Bytes(expected)}");
        }
    }

    /// <summary>Runs <paramref name="call"/> expecting <see cref="StoreLockedException"/>.</summary>
    public static void ExpectLocked(Action call, string what) => Expect<StoreLockedException>(call, what);

    public static TException Expect<TException>(Action call, string what)
        where TException : Exception
    {
        try
        {
            call();
        }
        catch (TException ex)
        {
            return ex;
        }
        catch (Exception ex)
        {
            throw new ModelMismatchException($"{what}: expected {typeof(TException).Name}, got {ex.GetType().Name}: {ex.Message}", ex);
        }
        throw new ModelMismatchException($"{what}: expected {typeof(TException).Name}, but the call succeeded");
    }

    /// <summary>
    /// Gets the namespace, then runs <paramref name="call"/> on it: <see cref="StoreLockedException"/> while
    /// locked, <see cref="ArgumentException"/> for a key over the limit, success otherwise.
    /// </summary>
    public static void CallWithKey(StoreModel expected, string what, byte[] key, Func<StoreNamespace> getNamespace, Action<StoreNamespace> call)
    {
        if (expected.State == ModelState.Locked)
        {
            ExpectLocked(() => getNamespace(), what);
            return;
        }
        StoreNamespace ns = getNamespace();
        if (StoreModel.KeyTooLong(key))
        {
            Expect<ArgumentException>(() => call(ns), what);
        }
        else
        {
            call(ns);
        }
    }

    /// <summary>Runs <paramref name="call"/>: expects success while serving and <see cref="StoreLockedException"/> while locked.</summary>
    public static void Call(StoreModel expected, string what, Action call)
    {
        if (expected.State == ModelState.Locked)
        {
            ExpectLocked(call, what);
        }
        else
        {
            call();
        }
    }
}
