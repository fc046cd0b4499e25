using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.Crypto;

namespace Engine.Tests.Memory;

/// <summary>
/// The child of <see cref="CoreDumpTests"/>: opens a store, plants the canaries, writes the keys it can
/// reach (root KEK, namespace KEKs, the ephemeral KEK) to a test-only file so the parent can search the
/// dump for them, then waits for the lock (the parent revokes the CMEK) and reports it. The parent takes
/// the core dump and kills it.
/// </summary>
/// <remarks>Protocol: <c>K</c> once the keys file is written, <c>L</c> once the store is Locked.
/// The child wipes every array of its own that held a canary or key, so what the dump shows is what
/// the engine kept.</remarks>
internal static class CoreDumpChild
{
    /// <param name="args">Store directory, CMEK URI, seed (hex), keys file.</param>
    public static int ChildMain(string[] args)
    {
        string storePath = args[0];
        string cmekUri = args[1];
        byte[] seed = Convert.FromHexString(args[2]);
        string keysPath = args[3];
        using Stream stdout = Console.OpenStandardOutput();
        void Emit(string line)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(line + "\n");
            stdout.Write(bytes, 0, bytes.Length);
            stdout.Flush();
        }

        var options = new StoreOptions
        {
            Path = storePath,
            CmekUri = cmekUri,
            CmekCheckInterval = TimeSpan.FromMilliseconds(200),
            KeyCacheTtl = TimeSpan.FromSeconds(1),
        };
        EncryptedStore store = EncryptedStore.Open(options);
        StoreNamespace ns = store.GetNamespace("canaries");

        // SST keys and values: many keys under one long canary prefix (so data blocks and the index's
        // separators hold it), flushed, then every value read back through the block cache.
        for (int i = 0; i < Canaries.PerClass; i++)
        {
            byte[] keyPrefix = Canaries.Derive(seed, CanaryClass.SstKey, i);
            byte[] value = Canaries.Derive(seed, CanaryClass.SstValue, i);
            for (int j = 0; j < 400; j++)
            {
                byte[] key = KeyOf(keyPrefix, j);
                ns.Put(key, j == 0 ? value : Filler(j));
                CryptographicOperations.ZeroMemory(key);
            }
            CryptographicOperations.ZeroMemory(value);
            CryptographicOperations.ZeroMemory(keyPrefix);
        }
        store.Flush();
        for (int i = 0; i < Canaries.PerClass; i++)
        {
            byte[] keyPrefix = Canaries.Derive(seed, CanaryClass.SstKey, i);
            byte[] key = KeyOf(keyPrefix, 0);
            byte[]? read = ns.Get(key);
            if (read is null)
            {
                Console.Error.WriteLine("a flushed canary was not found");
                return 3;
            }
            CryptographicOperations.ZeroMemory(read);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(keyPrefix);
        }

        // WAL-only values: synced after the flush, never flushed.
        for (int i = 0; i < Canaries.PerClass; i++)
        {
            byte[] value = Canaries.Derive(seed, CanaryClass.WalValue, i);
            byte[] key = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"wal-{i:D4}"));
            ns.Put(key, value, sync: true);
            CryptographicOperations.ZeroMemory(value);
        }

        // Test only: the keys this process holds, so the parent can look for their bytes in the dump.
        // Unbuffered: a FileStream buffer would keep a copy of the keys in this process's heap.
        using (var keys = new FileStream(keysPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            foreach (SecretKey handle in store.Session.KeyHandles)
            {
                if (handle.TryLease(out KeyLease lease))
                {
                    using (lease)
                    {
                        keys.Write(lease.Key);
                    }
                }
            }
        }
        Emit("K");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (store.State != StoreState.Locked)
        {
            if (DateTime.UtcNow > deadline)
            {
                Console.Error.WriteLine("the store did not lock");
                return 4;
            }
            Thread.Sleep(20); // polling a state of this process; the parent bounds the wait
        }
        Emit("L");
        Thread.Sleep(Timeout.Infinite); // the parent dumps and kills this process
        GC.KeepAlive(store);
        return 0;
    }

    private static byte[] KeyOf(byte[] prefix, int j)
    {
        var key = new byte[prefix.Length + 5];
        prefix.CopyTo(key, 0);
        key[prefix.Length] = (byte)'-';
        for (int d = 0; d < 4; d++)
        {
            key[key.Length - 1 - d] = (byte)('0' + (j / Pow10(d) % 10));
        }
        return key;
    }

    private static int Pow10(int d) => d switch { 0 => 1, 1 => 10, 2 => 100, _ => 1000 };

    private static byte[] Filler(int j)
    {
        var value = new byte[100];
        value.AsSpan().Fill((byte)('a' + (j % 26)));
        return value;
    }
}
