using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// The info LOG is encrypted like every other file, and what <c>engine log</c> does (a plugin env of its own
/// reading the LOG through <c>ekv_file_read</c>, without opening the store) gives back RocksDB's text.
/// </summary>
public sealed class InfoLogTests : IDisposable
{
    private readonly TestStoreDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Info_log_is_ciphertext_on_disk_and_decrypts_without_opening_the_store()
    {
        for (int open = 0; open < 2; open++)
        {
            using EncryptedStore store = _dir.Open();
            store.GetNamespace("log-test").Put("k", "v", sync: true);
            store.Flush();
        }
        string log = Path.Combine(_dir.StorePath, "LOG");
        string[] old = Directory.GetFiles(_dir.StorePath, "LOG.old.*");
        Assert.NotEmpty(old);
        byte[] marker = Encoding.ASCII.GetBytes("RocksDB version:");
        byte[] lastWrite = File.ReadAllBytes(log);

        using var plugin = new PluginFiles(_dir.StorePath, _dir.CmekUri);
        foreach (string file in old.Append(log))
        {
            Assert.False(Bytes.FileContains(file, marker), $"{Path.GetFileName(file)} holds RocksDB's text in plaintext");
            string text = Encoding.UTF8.GetString(plugin.ReadAll(file));
            Assert.Contains("RocksDB version:", text, StringComparison.Ordinal);
            Assert.Contains("[ns-1]", text, StringComparison.Ordinal); // the namespace's column family
        }
        // Reading did not open the store: nothing was rotated or rewritten.
        Assert.Equal(lastWrite, File.ReadAllBytes(log));
        Assert.Equal(old.Length, Directory.GetFiles(_dir.StorePath, "LOG.old.*").Length);
    }

    [Fact]
    public void A_tampered_info_log_reads_as_an_integrity_error_naming_it()
    {
        using (EncryptedStore store = _dir.Open())
        {
            store.GetNamespace("log-test").Put("k", "v", sync: true);
        }
        string log = Path.Combine(_dir.StorePath, "LOG");
        Bytes.FlipByte(log, FileGeometry.HeaderRegion + 100);
        using var plugin = new PluginFiles(_dir.StorePath, _dir.CmekUri);
        IntegrityException ex = Assert.Throws<IntegrityException>(() => plugin.ReadAll(log));
        Assert.Contains(log, ex.Message, StringComparison.Ordinal);
    }
}
