using Engine.Crypto;
using Engine.Tests.Crypto;

namespace Engine.Tests.Rotation;

/// <summary>CMEK and root KEK rotation, KEK retirement and crash points of the registry write.</summary>
public sealed class RegistryRotationTests : IDisposable
{
    private readonly RegistryFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Cmek_rotation_rewraps_the_root_under_the_new_key_and_forgets_the_old_one()
    {
        NamespaceInfo ns = _f.Registry.CreateNamespace("a");
        byte[] kek = CryptoTestSupport.KeyBytes(_f.Registry.GetCurrentKek(KeyScope.ForNamespace(ns.Id)));
        using LocalKeyFileCmek next = LocalKeyFileCmek.Create(_f.Dir.File("next.key"));

        await _f.Registry.RotateCmekAsync(next);

        Assert.Equal(next.Uri, _f.Registry.CmekUri);
        Assert.Equal(next.Uri, KeyRegistry.ReadCmekUri(_f.StoreDir));
        // Both generations on disk are wrapped by the new CMEK only.
        Assert.Equal(File.ReadAllBytes(_f.RegistryPath), File.ReadAllBytes(_f.PreviousPath));
        await Assert.ThrowsAsync<KeyUnavailableException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
        using KeyRegistry reopened = await KeyRegistry.OpenAsync(_f.StoreDir, next);
        Assert.Equal(kek, CryptoTestSupport.KeyBytes(reopened.GetCurrentKek(KeyScope.ForNamespace(ns.Id))));
    }

    [Fact]
    public async Task Cmek_rotation_to_a_key_that_cannot_unwrap_changes_nothing()
    {
        byte[] before = File.ReadAllBytes(_f.RegistryPath);
        using var broken = new OneWayCmek(LocalKeyFileCmek.Create(_f.Dir.File("broken.key")));

        await Assert.ThrowsAsync<KeyUnavailableException>(() => _f.Registry.RotateCmekAsync(broken));

        Assert.Equal(before, File.ReadAllBytes(_f.RegistryPath));
        Assert.Equal(_f.Cmek.Uri, _f.Registry.CmekUri);
    }

    [Fact]
    public async Task Root_rotation_reseals_every_kek_under_a_new_root_and_zeroes_the_old_root()
    {
        NamespaceInfo ns = _f.Registry.CreateNamespace("a");
        _f.Registry.RotateKek(KeyScope.ForNamespace(ns.Id));
        byte[] v1 = CryptoTestSupport.KeyBytes(KekOf(_f.Registry, ns.Id, 1));
        SecretKey oldRoot = _f.Registry.KeyHandles.Last();
        byte[] oldWrapped = WrappedRoot(_f.RegistryPath);

        await _f.Registry.RotateRootKekAsync(_f.Cmek);

        Assert.True(oldRoot.IsDisposed && oldRoot.IsZeroed);
        Assert.NotEqual(oldWrapped, WrappedRoot(_f.RegistryPath));
        Assert.NotEqual(oldWrapped, WrappedRoot(_f.PreviousPath));
        KeyRegistry reopened = _f.Reopen();
        Assert.Equal(v1, CryptoTestSupport.KeyBytes(KekOf(reopened, ns.Id, 1)));
        Assert.Equal(2u, reopened.CurrentKekVersion(KeyScope.ForNamespace(ns.Id)));
    }

    [Fact]
    public void Retiring_versions_removes_them_from_both_generations()
    {
        NamespaceInfo ns = _f.Registry.CreateNamespace("a");
        KeyScope scope = KeyScope.ForNamespace(ns.Id);
        _f.Registry.RotateKek(scope);
        _f.Registry.RotateKek(scope);
        Kek v1 = KekOf(_f.Registry, ns.Id, 1);
        Assert.True(_f.Registry.GetChain(scope)!.HasRetirableVersions);

        Assert.Throws<ArgumentException>(() => _f.Registry.RetireKekVersions(scope, [3]));
        Assert.Equal([1u, 2u], _f.Registry.RetireKekVersions(scope, [1, 2, 9]));

        Assert.True(v1.IsZeroed);
        Assert.Equal(File.ReadAllBytes(_f.RegistryPath), File.ReadAllBytes(_f.PreviousPath));
        KeyRegistry reopened = _f.Reopen();
        KekChainInfo chain = reopened.GetChain(scope)!;
        Assert.Equal([3u], chain.Versions);
        Assert.False(chain.HasRetirableVersions);
        Assert.Equal(KekLookup.Retired, reopened.TryGetKek(scope, 1, out _));
    }

    [Fact]
    public async Task Destroying_the_registry_files_leaves_nothing_to_open()
    {
        _f.Registry.CreateNamespace("a");
        _f.Registry.Dispose();

        Assert.Equal(2, KeyRegistry.DestroyFiles(_f.StoreDir));

        Assert.False(KeyRegistry.Exists(_f.StoreDir));
        await Assert.ThrowsAsync<FileNotFoundException>(() => KeyRegistry.OpenAsync(_f.StoreDir, _f.Cmek));
    }

    public static TheoryData<string, string> CrashPoints()
    {
        var data = new TheoryData<string, string>();
        foreach (RegistryFaultPoint point in Enum.GetValues<RegistryFaultPoint>())
        {
            foreach (string operation in new[] { "cmek", "root", "retire", "rotate-kek", "delete" })
            {
                data.Add(point.ToString(), operation);
            }
        }

        return data;
    }

    /// <summary>
    /// A crash (the injected exception leaves the files as a kill would) at each point of each kind
    /// of registry write leaves a registry that opens, under the old or the new state, with every
    /// key a file may still need.
    /// </summary>
    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task A_crash_at_any_point_of_a_registry_write_leaves_an_openable_registry(string pointName, string operation)
    {
        RegistryFaultPoint point = Enum.Parse<RegistryFaultPoint>(pointName);
        NamespaceInfo ns = _f.Registry.CreateNamespace("a");
        NamespaceInfo gone = _f.Registry.CreateNamespace("gone");
        KeyScope scope = KeyScope.ForNamespace(ns.Id);
        _f.Registry.RotateKek(scope);
        byte[] v2 = CryptoTestSupport.KeyBytes(KekOf(_f.Registry, ns.Id, 2));
        using LocalKeyFileCmek next = LocalKeyFileCmek.Create(_f.Dir.File("next.key"));
        _f.Registry.FaultInjector = p =>
        {
            if (p == point)
            {
                throw new SimulatedCrashException(p);
            }
        };

        Func<Task> write = operation switch
        {
            "cmek" => () => _f.Registry.RotateCmekAsync(next),
            "root" => () => _f.Registry.RotateRootKekAsync(_f.Cmek),
            "retire" => () => Task.FromResult(_f.Registry.RetireKekVersions(scope, [1])),
            "rotate-kek" => () => Task.FromResult(_f.Registry.RotateKek(scope)),
            _ => () => Task.Run(() => _f.Registry.DeleteNamespace(gone.Name)),
        };
        bool crashed;
        try
        {
            await write();
            crashed = false;
        }
        catch (SimulatedCrashException)
        {
            crashed = true;
        }

        _f.Registry.Dispose();
        // The store reopens from its directory alone: the URI comes from whichever generation is used.
        string uri = KeyRegistry.ReadCmekUri(_f.StoreDir)!;
        ICmekProvider cmek = uri == next.Uri ? next : _f.Cmek;
        using KeyRegistry reopened = await KeyRegistry.OpenAsync(_f.StoreDir, cmek);
        Assert.Equal(v2, CryptoTestSupport.KeyBytes(KekOf(reopened, ns.Id, 2)));
        Assert.True(reopened.CurrentKekVersion(scope) is 2u or 3u);
        if (!crashed)
        {
            Assert.False(reopened.LoadedFromPrevious);
        }

        // The next write repairs whatever the crash left and both generations agree after a reseal.
        reopened.Reseal();
        Assert.Equal(File.ReadAllBytes(_f.RegistryPath), File.ReadAllBytes(_f.PreviousPath));
    }

    private static Kek KekOf(KeyRegistry registry, uint ns, uint version)
    {
        Assert.Equal(KekLookup.Found, registry.TryGetKek(KeyScope.ForNamespace(ns), version, out Kek? kek));
        return kek!;
    }

    private static byte[] WrappedRoot(string path)
    {
        Assert.Equal(ImageProblem.None, KeyringCodec.Inspect(path, out KeyringImage? image, out _));
        return image!.WrappedRootKek;
    }

    private sealed class SimulatedCrashException(RegistryFaultPoint point) : Exception($"simulated crash at {point}");

    /// <summary>Wraps fine but never unwraps: a CMEK the store must refuse to rotate to.</summary>
    private sealed class OneWayCmek(ICmekProvider inner) : ICmekProvider
    {
        public string Uri => inner.Uri;

        public Task<byte[]> WrapKeyAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> context, CancellationToken ct = default) =>
            inner.WrapKeyAsync(key, context, ct);

        public Task<byte[]> UnwrapKeyAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> context, CancellationToken ct = default) =>
            throw new KeyUnavailableException("AccessDeniedException: not allowed to decrypt");

        public void Dispose() => inner.Dispose();
    }
}
