using System.Buffers.Binary;
using Engine.Crypto;

namespace Engine.Tests.Crypto;

public sealed class FileKeyServiceTests : IDisposable
{
    private static readonly byte[] HeaderAad = [.. "EKVFILE1"u8, 1, 0, 1, 0, 0, 16, 0, 0, .. new byte[16], 1, 0, 0, 0, 0, 0, 0, 0];

    private readonly RegistryFixture _f = new();
    private readonly FileKeyService _service;

    public FileKeyServiceTests()
    {
        _f.Registry.CreateNamespace("one"); // id 1
        _f.Registry.CreateNamespace("two"); // id 2
        _service = new FileKeyService(_f.Registry, CryptoTestSupport.ScopeOfPath);
    }

    public void Dispose()
    {
        _service.Dispose();
        _f.Dispose();
    }

    [Theory]
    [InlineData("/db/system/000001.log", (byte)KeyScopeKind.System, 0u)]
    [InlineData("/db/ns1/000007.sst", (byte)KeyScopeKind.Namespace, 1u)]
    [InlineData("/db/ns2/000008.sst", (byte)KeyScopeKind.Namespace, 2u)]
    [InlineData("/db/tmp/run-1", (byte)KeyScopeKind.Ephemeral, 0u)]
    public void Envelope_round_trips_the_dek(string path, byte kind, uint scopeId)
    {
        (byte[] dek, byte[] envelope) = NewKey(path, HeaderAad);

        Assert.Equal(KeyEnvelope.Size, envelope.Length);
        Assert.True(envelope.Length <= FileKeyService.MaxEnvelopeSize);
        Assert.Equal(1, envelope[0]);
        Assert.Equal(kind, envelope[1]);
        Assert.Equal(scopeId, BinaryPrimitives.ReadUInt32LittleEndian(envelope.AsSpan(2)));
        Assert.Equal(-1, envelope.AsSpan().IndexOf(dek)); // the DEK is not stored in the clear
        Assert.Equal(dek, OpenKey(path, HeaderAad, envelope));
        Assert.Equal(1, _service.DeksIssued);
        Assert.Equal(1, _service.DeksOpened);
    }

    [Fact]
    public void Every_file_gets_a_fresh_dek_and_nonce()
    {
        (byte[] dek1, byte[] env1) = NewKey("/db/ns1/a.sst", HeaderAad);
        (byte[] dek2, byte[] env2) = NewKey("/db/ns1/a.sst", HeaderAad);
        Assert.NotEqual(dek1, dek2);
        Assert.NotEqual(env1.AsSpan(10, 12).ToArray(), env2.AsSpan(10, 12).ToArray());
    }

    [Fact]
    public void Envelope_moved_to_another_scope_is_an_integrity_error_naming_the_file()
    {
        (_, byte[] envelope) = NewKey("/db/ns1/000007.sst", HeaderAad);

        foreach (string spliced in new[] { "/db/ns2/000007.sst", "/db/system/000007.sst", "/db/tmp/000007" })
        {
            var e = Assert.Throws<IntegrityException>(() => OpenKey(spliced, HeaderAad, envelope));
            Assert.Equal(spliced, e.Path);
            Assert.Contains(spliced, e.Message, StringComparison.Ordinal);
            Assert.Contains("namespace:1", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Aad_mismatch_is_an_integrity_error()
    {
        (_, byte[] envelope) = NewKey("/db/ns1/x.sst", HeaderAad);
        byte[] other = (byte[])HeaderAad.Clone();
        other[32] ^= 1; // the generation field of the file header

        var e = Assert.Throws<IntegrityException>(() => OpenKey("/db/ns1/x.sst", other, envelope));
        Assert.Equal("/db/ns1/x.sst", e.Path);
        Assert.Throws<IntegrityException>(() => OpenKey("/db/ns1/x.sst", HeaderAad.AsSpan(0, 39).ToArray(), envelope));
        Assert.Throws<IntegrityException>(() => OpenKey("/db/ns1/x.sst", [], envelope));
    }

    [Fact]
    public void Unknown_namespace_is_key_unavailable()
    {
        Assert.Throws<KeyUnavailableException>(() => NewKey("/db/ns99/a.sst", HeaderAad));

        // An envelope that names namespace 99, in namespace 99's directory: the key does not exist.
        (_, byte[] envelope) = NewKey("/db/ns1/a.sst", HeaderAad);
        BinaryPrimitives.WriteUInt32LittleEndian(envelope.AsSpan(2), 99);
        var e = Assert.Throws<KeyUnavailableException>(() => OpenKey("/db/ns99/a.sst", HeaderAad, envelope));
        Assert.Contains("namespace:99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_file_in_a_deleted_namespace_is_namespace_deleted_not_key_unavailable()
    {
        // RocksDB finishing a job of the dropped column family: the plugin turns this into
        // ColumnFamilyDropped (native test DbTest.ANewFileInADeletedNamespaceEndsTheJobWithoutStoppingTheDatabase).
        _f.Registry.DeleteNamespace("two");

        var e = Assert.Throws<NamespaceKeyDestroyedException>(() => NewKey("/db/ns2/a.sst", HeaderAad));
        Assert.Contains("namespace 2 was deleted", e.Message, StringComparison.Ordinal);
        Assert.Throws<KeyUnavailableException>(() => NewKey("/db/ns99/a.sst", HeaderAad)); // never issued: not a deletion
        Assert.Equal(0, _service.DeksIssued);
    }

    [Fact]
    public void Deleted_namespace_files_become_key_unavailable()
    {
        (_, byte[] envelope) = NewKey("/db/ns2/a.sst", HeaderAad);
        _f.Registry.DeleteNamespace("two");

        Assert.Throws<KeyUnavailableException>(() => OpenKey("/db/ns2/a.sst", HeaderAad, envelope));
    }

    [Fact]
    public void Old_files_open_after_rotation_and_new_files_use_the_new_version()
    {
        (byte[] oldDek, byte[] oldEnvelope) = NewKey("/db/ns1/old.sst", HeaderAad);
        _f.Registry.RotateKek(KeyScope.ForNamespace(1));
        (byte[] newDek, byte[] newEnvelope) = NewKey("/db/ns1/new.sst", HeaderAad);

        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(oldEnvelope.AsSpan(6)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(newEnvelope.AsSpan(6)));

        using var restarted = new FileKeyService(_f.Reopen(), CryptoTestSupport.ScopeOfPath);
        byte[] dek = new byte[32];
        restarted.OpenFileKey("/db/ns1/old.sst", HeaderAad, oldEnvelope, dek);
        Assert.Equal(oldDek, dek);
        restarted.OpenFileKey("/db/ns1/new.sst", HeaderAad, newEnvelope, dek);
        Assert.Equal(newDek, dek);
    }

    [Fact]
    public void Temp_files_of_another_boot_are_unreadable()
    {
        (_, byte[] envelope) = NewKey("/db/tmp/spill-1", HeaderAad);
        using var nextBoot = new FileKeyService(_f.Registry, CryptoTestSupport.ScopeOfPath);

        var e = Assert.Throws<KeyUnavailableException>(() => nextBoot.OpenFileKey("/db/tmp/spill-1", HeaderAad, envelope, new byte[32]));
        Assert.Contains("another process open", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Closed_service_or_registry_is_key_unavailable_and_zeroes_keys()
    {
        (_, byte[] envelope) = NewKey("/db/ns1/a.sst", HeaderAad);
        Kek ephemeral = _service.EphemeralKek;

        _service.Dispose();

        Assert.True(ephemeral.IsZeroed);
        Assert.True(_service.IsDisposed);
        Assert.Throws<KeyUnavailableException>(() => NewKey("/db/ns1/b.sst", HeaderAad));
        Assert.Throws<KeyUnavailableException>(() => OpenKey("/db/ns1/a.sst", HeaderAad, envelope));

        using var other = new FileKeyService(_f.Registry, CryptoTestSupport.ScopeOfPath);
        _f.Registry.Dispose();
        Assert.Throws<KeyUnavailableException>(() => other.OpenFileKey("/db/ns1/a.sst", HeaderAad, envelope, new byte[32]));
        Assert.Throws<KeyUnavailableException>(() => other.NewFileKey("/db/ns1/c.sst", HeaderAad, new byte[32], new byte[70]));
    }

    [Fact]
    public void Failed_open_zeroes_the_dek_buffer()
    {
        (_, byte[] envelope) = NewKey("/db/ns1/a.sst", HeaderAad);
        envelope[40] ^= 1;
        byte[] dek = [.. Enumerable.Repeat((byte)0xAA, 32)];

        Assert.Throws<IntegrityException>(() => _service.OpenFileKey("/db/ns1/a.sst", HeaderAad, envelope, dek));
        Assert.All(dek, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Short_buffers_are_argument_errors()
    {
        Assert.Throws<ArgumentException>(() => _service.NewFileKey("/db/ns1/a", HeaderAad, new byte[31], new byte[70]));
        Assert.Throws<ArgumentException>(() => _service.NewFileKey("/db/ns1/a", HeaderAad, new byte[32], new byte[69]));
        Assert.Throws<ArgumentException>(() => _service.NewFileKey("/db/ns1/a", HeaderAad, new byte[32], []));
    }

    [Theory]
    [InlineData("/db/system/MANIFEST-000001")]
    [InlineData("/db/ns1/000007.sst")]
    public void Every_single_bit_flip_in_the_envelope_is_an_integrity_error(string path)
    {
        (_, byte[] envelope) = NewKey(path, HeaderAad);
        for (int bit = 0; bit < envelope.Length * 8; bit++)
        {
            byte[] flipped = (byte[])envelope.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<IntegrityException>(() => OpenKey(path, HeaderAad, flipped));
        }
    }

    [Fact]
    public void Concurrent_issue_and_open_with_namespace_creation()
    {
        Parallel.For(0, 400, i =>
        {
            if (i % 50 == 0)
            {
                _f.Registry.CreateNamespace("concurrent-" + i);
            }

            string path = $"/db/ns{1 + (i % 2)}/{i}.sst";
            byte[] dek = new byte[32];
            byte[] envelope = new byte[FileKeyService.MaxEnvelopeSize];
            int length = _service.NewFileKey(path, HeaderAad, dek, envelope);
            byte[] opened = new byte[32];
            _service.OpenFileKey(path, HeaderAad, envelope.AsSpan(0, length), opened);
            Assert.Equal(dek, opened);
        });

        Assert.Equal(400, _service.DeksIssued);
        Assert.Equal(400, _service.DeksOpened);
    }

    [Fact]
    public void ToString_never_shows_keys()
    {
        byte[] ephemeral = CryptoTestSupport.KeyBytes(_service.EphemeralKek);
        CryptoTestSupport.AssertNoKeyMaterial(_service.ToString(), ephemeral);
        CryptoTestSupport.AssertNoKeyMaterial(_service.EphemeralKek.ToString(), ephemeral);
        Assert.StartsWith("Kek(scope=ephemeral, version=", _service.EphemeralKek.ToString(), StringComparison.Ordinal);
    }

    private (byte[] Dek, byte[] Envelope) NewKey(string path, byte[] aad)
    {
        byte[] dek = new byte[FileKeyService.DekSize];
        byte[] envelope = new byte[FileKeyService.MaxEnvelopeSize];
        int length = _service.NewFileKey(path, aad, dek, envelope);
        return (dek, envelope.AsSpan(0, length).ToArray());
    }

    private byte[] OpenKey(string path, byte[] aad, byte[] envelope)
    {
        byte[] dek = new byte[FileKeyService.DekSize];
        _service.OpenFileKey(path, aad, envelope, dek);
        return dek;
    }
}
