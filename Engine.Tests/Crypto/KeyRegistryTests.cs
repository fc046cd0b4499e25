using Engine.Crypto;

namespace Engine.Tests.Crypto;

public sealed class KeyRegistryTests : IDisposable
{
    private readonly RegistryFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Create_then_open_round_trips_store_id_namespaces_and_uri()
    {
        byte[] storeId = _f.Registry.StoreId.ToArray();
        NamespaceInfo a = _f.Registry.CreateNamespace("alpha");
        NamespaceInfo b = _f.Registry.CreateNamespace("beta");
        NamespaceInfo c = _f.Registry.CreateNamespace("gamma δ");

        Assert.Equal([1u, 2u, 3u], new[] { a.Id, b.Id, c.Id });
        Assert.True(KeyRegistry.Exists(_f.StoreDir));
        Assert.Equal(_f.Cmek.Uri, KeyRegistry.ReadCmekUri(_f.StoreDir));

        KeyRegistry reopened = _f.Reopen();

        Assert.Equal(storeId, reopened.StoreId.ToArray());
        Assert.Equal(_f.Cmek.Uri, reopened.CmekUri);
        Assert.Equal([a, b, c], reopened.Namespaces);
        Assert.True(reopened.TryGetNamespace("beta", out NamespaceInfo? got));
        Assert.Equal(b, got);
        Assert.False(reopened.TryGetNamespace("delta", out _));
        Assert.False(reopened.LoadedFromPrevious);
        Assert.Equal(4ul, reopened.Generation);
        Assert.Equal(4u, reopened.NextNamespaceId);
    }

    [Fact]
    public void Namespace_ids_are_never_reused_and_names_are_unique()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.CreateNamespace("b");
        Assert.Throws<ArgumentException>(() => _f.Registry.CreateNamespace("a"));
        Assert.Throws<ArgumentException>(() => _f.Registry.CreateNamespace(""));
        Assert.Throws<ArgumentException>(() => _f.Registry.CreateNamespace("bad\nname"));
        Assert.Throws<ArgumentException>(() => _f.Registry.CreateNamespace(new string('x', 256)));

        _f.Registry.DeleteNamespace("b");
        Assert.Equal(3u, _f.Registry.CreateNamespace("b").Id);

        KeyRegistry reopened = _f.Reopen();
        Assert.Equal(4u, reopened.CreateNamespace("c").Id);
        Assert.Equal(["a", "b", "c"], reopened.Namespaces.Select(n => n.Name));
    }

    [Fact]
    public async Task Create_refuses_an_existing_registry()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => KeyRegistry.CreateAsync(_f.StoreDir, _f.Cmek));
    }

    [Fact]
    public async Task Open_without_registry_and_ReadCmekUri_of_empty_dir()
    {
        using var empty = new TempDir();
        Assert.False(KeyRegistry.Exists(empty.Path));
        Assert.Null(KeyRegistry.ReadCmekUri(empty.Path));
        await Assert.ThrowsAsync<FileNotFoundException>(() => KeyRegistry.OpenAsync(empty.Path, _f.Cmek));
    }

    [Fact]
    public async Task Wrong_key_file_is_key_unavailable_and_leaves_the_registry_untouched()
    {
        _f.Registry.CreateNamespace("a"); // so that KEYRING.prev exists too
        byte[] current = File.ReadAllBytes(_f.RegistryPath);
        byte[] previous = File.ReadAllBytes(_f.PreviousPath);
        using var wrong = LocalKeyFileCmek.Create(_f.Dir.File("wrong.key"));

        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => KeyRegistry.OpenAsync(_f.StoreDir, wrong));

        Assert.Contains("does not unwrap", e.Message, StringComparison.Ordinal);
        Assert.Contains(wrong.Uri, e.Message, StringComparison.Ordinal);
        Assert.Equal(current, File.ReadAllBytes(_f.RegistryPath));
        Assert.Equal(previous, File.ReadAllBytes(_f.PreviousPath));
        Assert.False(File.Exists(Path.Combine(_f.StoreDir, KeyRegistry.TempFileName)));
    }

    [Theory]
    [InlineData(20)] // store id (header: associated data of the body)
    [InlineData(30)] // generation
    [InlineData(-30)] // body ciphertext
    [InlineData(-12)] // tag
    public async Task Tampering_with_an_intact_checksum_is_an_integrity_error(int offset)
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        int at = offset >= 0 ? offset : raw.Length + offset;
        raw[at] ^= 0x10;
        CryptoTestSupport.FixRegistryChecksum(raw);
        File.WriteAllBytes(_f.RegistryPath, raw);

        EngineException e = await Assert.ThrowsAnyAsync<EngineException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));

        // A changed store id no longer matches KEYRING.prev's (and is the CMEK wrap context, so it
        // would not unwrap either): tampering, not "wrong key?". Anything else fails the body.
        IntegrityException integrity = Assert.IsType<IntegrityException>(e);
        Assert.Equal(_f.RegistryPath, integrity.Path);
    }

    [Fact]
    public async Task Tampered_cmek_uri_in_header_fails_authentication()
    {
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        int uriStart = 8 + 2 + 2 + 16 + 8 + 2;
        raw[uriStart + 1] ^= 0x01; // "file:" -> "fhle:" style change, still valid UTF-8
        CryptoTestSupport.FixRegistryChecksum(raw);
        File.WriteAllBytes(_f.RegistryPath, raw);

        await Assert.ThrowsAsync<IntegrityException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
    }

    [Fact]
    public void Torn_registry_falls_back_to_the_previous_generation()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.CreateNamespace("b"); // KEYRING = gen 3 (a, b), KEYRING.prev = gen 2 (a)
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        File.WriteAllBytes(_f.RegistryPath, raw.AsSpan(0, raw.Length / 2).ToArray());

        KeyRegistry reopened = _f.Reopen();

        Assert.True(reopened.LoadedFromPrevious);
        Assert.Contains("checksum", reopened.RecoveryNote, StringComparison.Ordinal);
        Assert.Equal(2ul, reopened.Generation);
        Assert.Equal(["a"], reopened.Namespaces.Select(n => n.Name));

        // The next write repairs KEYRING and keeps the good previous generation.
        Assert.Equal(2u, reopened.CreateNamespace("c").Id);
        KeyRegistry again = _f.Reopen();
        Assert.False(again.LoadedFromPrevious);
        Assert.Equal(3ul, again.Generation);
        Assert.Equal(["a", "c"], again.Namespaces.Select(n => n.Name));
    }

    [Fact]
    public async Task The_sealed_image_copy_is_the_generation_in_force_and_opens_elsewhere()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.CreateNamespace("b");
        // After a write: the bytes of KEYRING.
        Assert.Equal(File.ReadAllBytes(_f.RegistryPath), _f.Registry.CopySealedImage());

        // After a torn KEYRING: the generation in force is KEYRING.prev's, not the torn file.
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        File.WriteAllBytes(_f.RegistryPath, raw.AsSpan(0, raw.Length / 2).ToArray());
        KeyRegistry reopened = _f.Reopen();
        Assert.True(reopened.LoadedFromPrevious);
        byte[] image = reopened.CopySealedImage();
        Assert.Equal(File.ReadAllBytes(_f.PreviousPath), image);

        // The copy is a whole registry: it opens with the same CMEK, at the same generation.
        string elsewhere = Path.Combine(_f.StoreDir, "copy");
        Directory.CreateDirectory(elsewhere);
        File.WriteAllBytes(Path.Combine(elsewhere, KeyRegistry.FileName), image);
        using KeyRegistry copy = await KeyRegistry.OpenAsync(elsewhere, _f.Cmek);
        Assert.Equal(reopened.Generation, copy.Generation);
        Assert.Equal(["a"], copy.Namespaces.Select(n => n.Name));

        reopened.Dispose();
        Assert.Throws<KeyUnavailableException>(() => reopened.CopySealedImage());
    }

    [Fact]
    public async Task Flipped_byte_without_checksum_fix_is_treated_as_torn()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        raw[^30] ^= 1;
        File.WriteAllBytes(_f.RegistryPath, raw);

        Assert.True(_f.Reopen().LoadedFromPrevious);

        // With no previous generation to fall back to, it is an integrity error naming the file.
        _f.Registry.Dispose();
        File.Delete(_f.PreviousPath);
        var e = await Assert.ThrowsAsync<IntegrityException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
        Assert.Contains(KeyRegistry.FileName, e.Message, StringComparison.Ordinal);
        Assert.Throws<IntegrityException>(() => KeyRegistry.ReadCmekUri(_f.StoreDir));
    }

    [Fact]
    public async Task Missing_registry_with_valid_previous_is_tampering_since_writes_never_leave_it()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.Dispose();
        File.Delete(_f.RegistryPath);

        var e = await Assert.ThrowsAsync<IntegrityException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_is_not_a_registry_is_reported_clearly()
    {
        _f.Registry.Dispose();
        File.WriteAllText(_f.RegistryPath, "hello, I am a text file and not a key registry at all");

        var e = await Assert.ThrowsAsync<IntegrityException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_newer_format_version_is_refused_without_falling_back()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.Dispose();
        byte[] raw = File.ReadAllBytes(_f.RegistryPath);
        raw[8] = 2;
        CryptoTestSupport.FixRegistryChecksum(raw);
        File.WriteAllBytes(_f.RegistryPath, raw);

        var e = await Assert.ThrowsAsync<EngineException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
        Assert.Contains("version 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_adds_a_current_version_that_survives_reopen()
    {
        NamespaceInfo ns = _f.Registry.CreateNamespace("a");
        KeyScope scope = KeyScope.ForNamespace(ns.Id);

        Assert.Equal(2u, _f.Registry.RotateKek(scope));
        Assert.Equal(2u, _f.Registry.RotateKek(KeyScope.System));
        Assert.Equal(3u, _f.Registry.RotateKek(scope));

        KeyRegistry reopened = _f.Reopen();
        Assert.Equal(3u, reopened.CurrentKekVersion(scope));
        Assert.Equal(2u, reopened.CurrentKekVersion(KeyScope.System));
        Assert.Equal(KekLookup.Found, reopened.TryGetKek(scope, 1, out _));
        Assert.Equal(KekLookup.NeverIssued, reopened.TryGetKek(scope, 4, out _));
        Assert.Equal(KekLookup.UnknownScope, reopened.TryGetKek(KeyScope.ForNamespace(77), 1, out _));
        Assert.Throws<KeyUnavailableException>(() => reopened.RotateKek(KeyScope.ForNamespace(77)));
    }

    [Fact]
    public void Delete_shreds_the_namespace_key_from_both_generations()
    {
        _f.Registry.CreateNamespace("keep");
        NamespaceInfo gone = _f.Registry.CreateNamespace("gone");
        Kek goneKek = _f.Registry.GetCurrentKek(KeyScope.ForNamespace(gone.Id));

        _f.Registry.DeleteNamespace("gone");

        Assert.True(goneKek.IsZeroed);
        Assert.Equal(File.ReadAllBytes(_f.RegistryPath), File.ReadAllBytes(_f.PreviousPath));
        Assert.Throws<KeyUnavailableException>(() => _f.Registry.GetCurrentKek(KeyScope.ForNamespace(gone.Id)));
        Assert.Throws<ArgumentException>(() => _f.Registry.DeleteNamespace("gone"));

        // KEYRING.prev alone (opened in KEYRING's place) has no trace of the deleted namespace either.
        _f.Registry.Dispose();
        File.Copy(_f.PreviousPath, _f.RegistryPath, overwrite: true);
        Assert.Equal(["keep"], _f.Reopen().Namespaces.Select(n => n.Name));
    }

    [Fact]
    public void Dispose_zeroes_every_key()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.RotateKek(KeyScope.ForNamespace(1));
        SecretKey[] keys = [.. _f.Registry.KeyHandles];
        Assert.Equal(4, keys.Length); // system v1, a v1, a v2, root
        Assert.All(keys, k => Assert.False(k.IsZeroed));

        _f.Registry.Dispose();

        Assert.All(keys, k => Assert.True(k.IsDisposed && k.IsZeroed));
        Assert.Throws<KeyUnavailableException>(() => _f.Registry.GetCurrentKek(KeyScope.System));
        Assert.Equal(KekLookup.Closed, _f.Registry.TryGetKek(KeyScope.System, 1, out _));
        Assert.Throws<ObjectDisposedException>(() => _f.Registry.CreateNamespace("b"));
    }

    [Fact]
    public void ToString_and_file_never_show_key_bytes()
    {
        _f.Registry.CreateNamespace("a");
        byte[][] keys = [.. _f.Registry.KeyHandles.Select(CryptoTestSupport.KeyBytes)];
        byte[] file = File.ReadAllBytes(_f.RegistryPath);

        foreach (byte[] key in keys)
        {
            CryptoTestSupport.AssertNoKeyMaterial(_f.Registry.ToString(), key);
            Assert.Equal(-1, file.AsSpan().IndexOf(key));
        }

        foreach (SecretKey handle in _f.Registry.KeyHandles)
        {
            CryptoTestSupport.AssertNoKeyMaterial(handle.ToString(), CryptoTestSupport.KeyBytes(handle));
        }
    }

    [Fact]
    public void Concurrent_namespace_creation_is_serialized()
    {
        NamespaceInfo[] created = new NamespaceInfo[16];
        Parallel.For(0, created.Length, i => created[i] = _f.Registry.CreateNamespace("ns-" + i));

        Assert.Equal(Enumerable.Range(1, 16).Select(i => (uint)i), created.Select(c => c.Id).Order());
        Assert.Equal(created.OrderBy(c => c.Id), _f.Reopen().Namespaces);
    }

    [Fact]
    public async Task Store_ids_differ_between_stores()
    {
        using var other = await KeyRegistry.CreateAsync(_f.Dir.File("store2"), _f.Cmek);
        Assert.False(other.StoreId.SequenceEqual(_f.Registry.StoreId));
        Assert.Equal(16, other.StoreId.Length);
    }
}
