using System.Reflection;
using System.Text;
using Engine.Crypto;
using Engine.Diagnostics;
using Engine.Testing;
using Engine.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Observability;

/// <summary>
/// StoreOptions.LoggerFactory: a workload that makes the store write every message it has, then a scan
/// of everything a log sink could receive for the canary keys and values and for the store's key bytes.
/// </summary>
public sealed class StoreLoggingTests : IDisposable
{
    private const string CanaryKey = "canary-key-5d1e9b";
    private const string CanaryValue = "canary-value-a7c20f";
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_message_is_logged_with_its_event_id_and_none_carries_keys_or_user_data()
    {
        var logs = new CapturingLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var cmek = new TestCmek("logging");
        using var next = new TestCmek("logging-next");
        var secrets = new List<string>();

        StoreOptions Options(ICmekProvider key) => _dir.Options(o =>
        {
            o.CmekUri = null;
            o.Cmek = key;
            o.LoggerFactory = factory;
            o.CmekCheckInterval = TimeSpan.FromMilliseconds(200);
            o.CmekCheckTimeout = TimeSpan.FromSeconds(3);
            o.KeyCacheTtl = TimeSpan.FromMinutes(5);
        });

        using (EncryptedStore store = EncryptedStore.Open(Options(cmek)))
        {
            CollectKeyBytes(store, secrets);
            StoreNamespace ns = store.GetNamespace("tenant");
            for (int i = 0; i < 2000; i++)
            {
                ns.Put($"{CanaryKey}-{i:D5}", $"{CanaryValue}-{i:D5}");
            }
            Assert.Equal($"{CanaryValue}-00007", ns.Get($"{CanaryKey}-00007"));
            ns.Delete($"{CanaryKey}-00008");
            Assert.NotEmpty(ns.Scan($"{CanaryKey}-00010", $"{CanaryKey}-00020"));
            using (StoreWriteBatch batch = store.CreateWriteBatch())
            {
                store.Write(batch.Put(ns, CanaryKey + "-batch", CanaryValue + "-batch"));
            }
            store.Flush();
            store.Compact();
            store.Verify();
            await store.Backups.CreateAsync(Path.Combine(_dir.Root, "backups"));

            StoreNamespace imported = store.GetNamespace("imported");
            imported.BulkImport(Enumerable.Range(0, 500).Select(i => Entry($"{CanaryKey}-import-{i}", $"{CanaryValue}-import-{i}")));
            Assert.ThrowsAny<ArgumentException>(() => imported.BulkImport([Entry(new string('k', 70_000), CanaryValue)]));

            store.Keys.RotateRootKey();
            await store.Keys.RotateNamespaceKey("tenant").Completion.WaitAsync(StateTimeout);
            store.Keys.RotateDataKeys("tenant");
            using (var revoked = new TestCmek("revoked-target"))
            {
                revoked.Revoke();
                Assert.ThrowsAny<EngineException>(() => store.Keys.RotateCmek(revoked));
            }
            store.Keys.RotateCmek(next);
            CollectKeyBytes(store, secrets);

            // A check slower than half its timeout (and than the check interval: the store degrades meanwhile).
            next.AddLatency(TimeSpan.FromMilliseconds(1600));
            Assert.True(Eventually.Holds(() => logs.Has(2003) && store.State == StoreState.Open && next.CheckCount > 1, StateTimeout), "no slow CMEK check logged");
            next.ClearLatency();

            next.Revoke();
            Assert.True(Eventually.Holds(() => store.State == StoreState.Locked, StateTimeout), "the store did not lock");
            next.Restore();
            Assert.True(Eventually.Holds(() => store.State == StoreState.Open, StateTimeout), "the store did not unlock");
        }

        // Wrong CMEK: the open fails and says so.
        using (var stranger = new TestCmek("stranger"))
        {
            Assert.ThrowsAny<EngineException>(() => EncryptedStore.Open(Options(stranger)));
        }

        // A flipped byte in an SST: the read fails with the file and offset logged.
        string sst = _dir.StoreFiles().Where(f => f.EndsWith(".sst", StringComparison.Ordinal)).OrderByDescending(f => new FileInfo(f).Length).First();
        Bytes.FlipByte(sst, 1024 + 100);
        Assert.ThrowsAny<IntegrityException>(() =>
        {
            using EncryptedStore store = EncryptedStore.Open(Options(next));
            StoreNamespace ns = store.GetNamespace("tenant");
            foreach (KeyValuePair<byte[], byte[]> kv in ns.Scan())
            {
                _ = kv;
            }
            store.Verify();
        });

        IReadOnlyList<CapturedLog> entries = logs.Entries;
        int[] declared = [.. DeclaredEventIds()];
        Assert.True(declared.Length >= 15, $"found {declared.Length} LoggerMessage event ids on EngineLog");
        foreach (int id in declared)
        {
            Assert.True(entries.Any(e => e.EventId.Id == id), $"no log entry with event id {id}");
        }
        Assert.All(entries, e => Assert.Equal(EngineLog.Category, e.Category));
        CapturedLog integrity = entries.First(e => e.EventId.Id == 4001);
        Assert.Contains(".sst", integrity.Message, StringComparison.Ordinal);
        Assert.Contains(entries, e => e.EventId.Id == 2001 && e.Level == LogLevel.Warning && e.Message.Contains("Locked", StringComparison.Ordinal) && e.Message.Contains("revoked", StringComparison.OrdinalIgnoreCase));

        Assert.True(secrets.Count >= 4, "expected the store's key bytes to scan for");
        foreach (CapturedLog entry in entries)
        {
            string text = entry.AllText;
            Assert.DoesNotContain(CanaryKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(CanaryValue, text, StringComparison.Ordinal);
            foreach (string secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    /// <summary>Every event id EngineLog declares: a new message is covered by this test as soon as it exists.</summary>
    private static IEnumerable<int> DeclaredEventIds() =>
        typeof(EngineLog).GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .Distinct();

    private static KeyValuePair<byte[], byte[]> Entry(string key, string value) => new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));

    /// <summary>The hex and base64 forms of every key the store holds in memory.</summary>
    private static void CollectKeyBytes(EncryptedStore store, List<string> secrets)
    {
        foreach (SecretKey key in store.Run(s => s.KeyHandles))
        {
            if (key.TryLease(out KeyLease lease))
            {
                using (lease)
                {
                    secrets.Add(Convert.ToHexString(lease.Key));
                    secrets.Add(Convert.ToBase64String(lease.Key));
                }
            }
        }
    }
}
