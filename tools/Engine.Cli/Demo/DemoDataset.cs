using System.Security.Cryptography;
using System.Text;

namespace Engine.Cli.Demo;

/// <summary>
/// The demo's records: every key and value carries a per-run canary tag (<c>CANARY-&lt;hex&gt;</c>), so
/// finding the tag in any store file would prove plaintext leaked, and no earlier run can cause a
/// false alarm.
/// </summary>
internal sealed class DemoDataset
{
    public static readonly string[] NamespaceNames = ["tenant-a", "tenant-b", "audit"];

    private readonly Dictionary<string, List<KeyValuePair<string, string>>> _records = [];

    public DemoDataset(int recordsPerNamespace)
    {
        Tag = "CANARY-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        foreach (string ns in NamespaceNames)
        {
            var list = new List<KeyValuePair<string, string>>(recordsPerNamespace);
            for (int i = 0; i < recordsPerNamespace; i++)
            {
                string key = $"{Tag}/{ns}/record-{i:D5}";
                string value = ns == "audit"
                    ? $"{Tag} audit event {i}: user-{i % 97} read tenant-{(i % 2 == 0 ? 'a' : 'b')} record {i}"
                    : $"{Tag} secret of {ns} #{i}: card 4111-{i:D4}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
                list.Add(new(key, value));
            }
            _records[ns] = list;
        }
    }

    /// <summary>The canary: present in every key and every value.</summary>
    public string Tag { get; }

    public int Count => _records.Values.Sum(l => l.Count);

    /// <summary>Writes everything in atomic batches spanning all namespaces; the last batch is synced.</summary>
    public void WriteTo(EncryptedStore store)
    {
        Dictionary<string, StoreNamespace> spaces = NamespaceNames.ToDictionary(n => n, store.GetNamespace);
        int perNamespace = _records[NamespaceNames[0]].Count;
        const int BatchRows = 250;
        for (int start = 0; start < perNamespace; start += BatchRows)
        {
            using StoreWriteBatch batch = store.CreateWriteBatch();
            foreach (string ns in NamespaceNames)
            {
                foreach (KeyValuePair<string, string> kv in _records[ns].Skip(start).Take(BatchRows))
                {
                    batch.Put(spaces[ns], kv.Key, kv.Value);
                }
            }
            store.Write(batch, sync: start + BatchRows >= perNamespace);
        }
    }

    /// <summary>
    /// Reads every record back with Get and every namespace with a full Scan. Integrity errors are
    /// counted, not thrown: on a tampered store they are the expected outcome, while a missing, extra
    /// or different value is wrong data and must never happen.
    /// </summary>
    public ReadBack CheckAll(EncryptedStore store)
    {
        var result = new ReadBack { Expected = Count };
        foreach (string ns in NamespaceNames)
        {
            if (!store.TryGetNamespace(ns, out StoreNamespace? space))
            {
                result.Missing += _records[ns].Count;
                continue;
            }
            var expected = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> kv in _records[ns])
            {
                expected[kv.Key] = kv.Value;
                result.Tally(() => space.Get(Encoding.UTF8.GetBytes(kv.Key)), kv.Value);
            }
            CheckScan(space, expected, result);
        }
        return result;
    }

    private static void CheckScan(StoreNamespace space, Dictionary<string, string> expected, ReadBack result)
    {
        int rows = 0;
        try
        {
            foreach (KeyValuePair<byte[], byte[]> row in space.Scan())
            {
                rows++;
                if (!expected.TryGetValue(Encoding.UTF8.GetString(row.Key), out string? value) || Encoding.UTF8.GetString(row.Value) != value)
                {
                    result.Wrong++;
                }
            }
            if (rows != expected.Count)
            {
                // Rows silently dropped from a scan are wrong data too.
                result.Missing += Math.Max(0, expected.Count - rows);
                result.Wrong += Math.Max(0, rows - expected.Count);
            }
        }
        catch (IntegrityException ex)
        {
            result.IntegrityErrors++;
            result.FirstIntegrityError ??= ex.Message;
        }
    }
}

/// <summary>What <see cref="DemoDataset.CheckAll"/> found.</summary>
internal sealed class ReadBack
{
    public int Expected { get; init; }

    public int Matched { get; private set; }

    public int Missing { get; set; }

    public int Wrong { get; set; }

    public int IntegrityErrors { get; set; }

    public string? FirstIntegrityError { get; set; }

    /// <summary>Every record came back exactly as written, and nothing failed.</summary>
    public bool Perfect => Matched == Expected && Missing == 0 && Wrong == 0 && IntegrityErrors == 0;

    /// <summary>Nothing false was returned (errors allowed).</summary>
    public bool NoWrongData => Missing == 0 && Wrong == 0;

    public void Tally(Func<byte[]?> read, string expected)
    {
        try
        {
            byte[]? got = read();
            if (got is null)
            {
                Missing++;
            }
            else if (Encoding.UTF8.GetString(got) == expected)
            {
                Matched++;
            }
            else
            {
                Wrong++;
            }
        }
        catch (IntegrityException ex)
        {
            IntegrityErrors++;
            FirstIntegrityError ??= ex.Message;
        }
    }

    public override string ToString() =>
        $"{Matched}/{Expected} matched, {Missing} missing, {Wrong} wrong; {IntegrityErrors} gets/scans refused with IntegrityException";
}
