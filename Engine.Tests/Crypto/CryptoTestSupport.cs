using System.Buffers.Binary;
using System.IO.Hashing;
using Engine.Crypto;

namespace Engine.Tests.Crypto;

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("ekv-crypto-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A store directory with a key file CMEK and an open registry.</summary>
internal sealed class RegistryFixture : IDisposable
{
    public RegistryFixture()
    {
        KeyFile = Dir.File("cmek.key");
        Cmek = LocalKeyFileCmek.Create(KeyFile);
        StoreDir = Dir.File("store");
        Registry = BlockingBridge.Wait(ct => KeyRegistry.CreateAsync(StoreDir, Cmek, ct));
    }

    public TempDir Dir { get; } = new();

    public string KeyFile { get; }

    public string StoreDir { get; }

    public LocalKeyFileCmek Cmek { get; }

    public KeyRegistry Registry { get; private set; }

    public string RegistryPath => System.IO.Path.Combine(StoreDir, KeyRegistry.FileName);

    public string PreviousPath => System.IO.Path.Combine(StoreDir, KeyRegistry.PreviousFileName);

    public KeyRegistry Reopen()
    {
        Registry.Dispose();
        Registry = BlockingBridge.Wait(ct => KeyRegistry.OpenAsync(StoreDir, Cmek, ct));
        return Registry;
    }

    public void Dispose()
    {
        Registry.Dispose();
        Cmek.Dispose();
        Dir.Dispose();
    }
}

internal static class CryptoTestSupport
{
    /// <summary>Maps "…/system/…" to system, "…/ns{N}/…" to namespace N, "…/tmp/…" to ephemeral.</summary>
    public static KeyScope ScopeOfPath(string path)
    {
        foreach (string part in path.Split('/'))
        {
            if (part == "tmp")
            {
                return KeyScope.Ephemeral;
            }

            if (part.StartsWith("ns", StringComparison.Ordinal) && uint.TryParse(part.AsSpan(2), out uint id))
            {
                return KeyScope.ForNamespace(id);
            }
        }

        return KeyScope.System;
    }

    /// <summary>Recomputes the XxHash64 trailer so a tampered registry passes the torn-write check.</summary>
    public static void FixRegistryChecksum(byte[] raw) =>
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(raw.Length - 8), XxHash64.HashToUInt64(raw.AsSpan(0, raw.Length - 8)));

    public static byte[] KeyBytes(SecretKey key)
    {
        Assert.True(key.TryLease(out KeyLease lease));
        using (lease)
        {
            return lease.Key.ToArray();
        }
    }

    /// <summary>Asserts <paramref name="text"/> contains no rendering of <paramref name="key"/>.</summary>
    public static void AssertNoKeyMaterial(string text, ReadOnlySpan<byte> key)
    {
        Assert.DoesNotContain(Convert.ToHexString(key), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(key), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(key).TrimEnd('='), text, StringComparison.Ordinal);
        // Any 8-byte window in hex would be a partial leak too.
        for (int i = 0; i + 8 <= key.Length; i += 8)
        {
            Assert.DoesNotContain(Convert.ToHexString(key.Slice(i, 8)), text, StringComparison.OrdinalIgnoreCase);
        }
    }
}
