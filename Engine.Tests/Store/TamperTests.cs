using System.Security.Cryptography;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Store;

/// <summary>A flipped byte in any file must surface as <see cref="IntegrityException"/>, never as wrong data.</summary>
public sealed class TamperTests : IDisposable
{
    private const int HeaderBytes = 1024;
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Value(int i) => $"value-{i:D6}-" + new string((char)('a' + (i % 26)), 80);

    private void Populate(bool flush)
    {
        using EncryptedStore store = _dir.Open();
        StoreNamespace ns = store.GetNamespace("t");
        for (int i = 0; i < 3000; i++)
        {
            ns.Put($"key-{i:D6}", Value(i), sync: i == 2999);
        }
        if (flush)
        {
            store.Flush();
            store.Compact();
        }
    }

    /// <summary>Opens the store and reads everything back; returns the integrity error it hit, if any.</summary>
    private IntegrityException? ReadEverything()
    {
        try
        {
            using EncryptedStore store = _dir.Open();
            StoreNamespace ns = store.GetNamespace("t");
            int seen = 0;
            foreach (KeyValuePair<string, string> kv in ns.Scan((string?)null, null))
            {
                int i = int.Parse(kv.Key.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(Value(i), kv.Value); // never wrong data
                seen++;
            }
            for (int i = 0; i < 3000; i++)
            {
                string? v = ns.Get($"key-{i:D6}");
                Assert.True(v is null || v == Value(i), $"wrong value for key {i}");
            }
            store.Verify();
            return seen == 3000 ? null : new IntegrityException($"only {seen} of 3000 entries readable, without an integrity error");
        }
        catch (IntegrityException ex)
        {
            return ex;
        }
    }

    private string SingleFile(Func<string, bool> match)
    {
        var files = _dir.StoreFiles().Where(f => match(Path.GetFileName(f))).ToList();
        Assert.True(files.Count >= 1, "no matching file");
        return files.OrderByDescending(f => new FileInfo(f).Length).First();
    }

    [Fact]
    public void Flipped_byte_in_an_sst_body_is_an_integrity_error()
    {
        Populate(flush: true);
        string sst = SingleFile(n => n.EndsWith(".sst", StringComparison.Ordinal));
        Bytes.FlipByte(sst, HeaderBytes + 100);
        IntegrityException? error = ReadEverything();
        Assert.NotNull(error);
        Assert.Contains(".sst", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flipped_byte_in_a_wal_body_is_an_integrity_error()
    {
        Populate(flush: false);
        string wal = SingleFile(n => n.EndsWith(".log", StringComparison.Ordinal));
        Assert.True(new FileInfo(wal).Length > HeaderBytes + (3 * 4124), "WAL should span several frames");
        Bytes.FlipByte(wal, HeaderBytes + 200);
        IntegrityException? error = ReadEverything();
        Assert.NotNull(error);
        Assert.Contains(".log", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flipped_byte_in_the_manifest_is_an_integrity_error()
    {
        Populate(flush: true);
        string manifest = SingleFile(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));
        Bytes.FlipByte(manifest, HeaderBytes + 20);
        IntegrityException? error = ReadEverything();
        Assert.NotNull(error);
        Assert.Contains("MANIFEST", error!.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Regression (tamper campaign seed 629361054, mutations #1861 and #2581): a flipped byte in the last
    /// frame of the MANIFEST read as a torn write, RocksDB dropped the last edit, and keys of a flush whose
    /// WAL was already deleted vanished without an error. The sync marker frame after every synced edit
    /// makes that damage an integrity error.
    /// </summary>
    [Fact]
    public void Flipped_byte_in_the_last_manifest_edit_is_an_integrity_error_not_a_lost_edit()
    {
        Populate(flush: true);
        string manifest = SingleFile(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));
        var geometry = Campaigns.FileGeometry.Of(manifest, File.ReadAllBytes(manifest));
        (long offset, int length) = geometry.Frames.Last(f => f.Length > Campaigns.FileGeometry.FrameOverhead);
        Assert.NotEqual(geometry.Frames[^1].Offset, offset); // a sync marker follows the last edit
        Bytes.FlipByte(manifest, offset + 24 + ((length - 40) / 2)); // middle of the ciphertext
        IntegrityException? error = ReadEverything();
        Assert.NotNull(error);
        Assert.Contains("MANIFEST", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flipped_byte_in_a_file_header_is_an_integrity_error()
    {
        Populate(flush: true);
        string sst = SingleFile(n => n.EndsWith(".sst", StringComparison.Ordinal));
        Bytes.FlipByte(sst, 20); // inside the file id, bound into the DEK wrap
        IntegrityException? error = ReadEverything();
        Assert.NotNull(error);
    }

    [Fact]
    public void Wrong_key_file_is_refused_without_touching_the_store()
    {
        Populate(flush: true);
        Dictionary<string, string> before = HashFiles();
        string otherKey = _dir.CreateOtherKey();

        var ex = Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(_dir.Options(o => o.CmekUri = "file:" + otherKey)));
        Assert.Contains(otherKey, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, HashFiles());

        File.Delete(_dir.KeyPath);
        Assert.Throws<KeyUnavailableException>(() => EncryptedStore.Open(_dir.Options(o => o.CmekUri = null)));
        Assert.Equal(before, HashFiles());
    }

    private Dictionary<string, string> HashFiles() => _dir.StoreFiles()
        .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
