using Engine.Crypto;

namespace Engine.Tests.Crypto;

public sealed class KeyHandleTests
{
    [Fact]
    public void Kek_describes_scope_and_version_only()
    {
        using Kek kek = Kek.Generate(KeyScope.ForNamespace(3), 2);
        Assert.Equal("Kek(scope=namespace:3, version=2)", kek.ToString());
        Assert.Equal("Kek(scope=system, version=1)", Kek.Generate(KeyScope.System, 1).ToString());
        CryptoTestSupport.AssertNoKeyMaterial(kek.ToString(), CryptoTestSupport.KeyBytes(kek));
    }

    [Fact]
    public void Dispose_zeroes_and_later_leases_fail()
    {
        Kek kek = Kek.Generate(KeyScope.System, 1);
        Assert.False(kek.IsZeroed);

        kek.Dispose();
        kek.Dispose();

        Assert.True(kek.IsDisposed);
        Assert.True(kek.IsZeroed);
        Assert.False(kek.TryLease(out _));
    }

    [Fact]
    public void Dispose_waits_for_outstanding_leases_before_zeroing()
    {
        Kek kek = Kek.Generate(KeyScope.System, 1);
        byte[] expected = CryptoTestSupport.KeyBytes(kek);
        Assert.True(kek.TryLease(out KeyLease lease));

        kek.Dispose();
        Assert.False(kek.IsZeroed);
        Assert.Equal(expected, lease.Key.ToArray());
        Assert.False(kek.TryLease(out _));

        lease.Dispose();
        Assert.True(kek.IsZeroed);
    }

    [Fact]
    public void Material_is_copied_and_must_be_256_bits()
    {
        byte[] material = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
        using OpaqueKey key = OpaqueKey.FromMaterial("RootKek(store=00)", material);
        material[0] = 0;
        Assert.Equal(1, CryptoTestSupport.KeyBytes(key)[0]);
        Assert.Equal("RootKek(store=00)", key.ToString());
        Assert.Throws<ArgumentException>(() => OpaqueKey.FromMaterial("x", new byte[16]));
    }

    [Fact]
    public void Scope_strings()
    {
        Assert.Equal("system", KeyScope.System.ToString());
        Assert.Equal("ephemeral", KeyScope.Ephemeral.ToString());
        Assert.Equal("namespace:7", KeyScope.ForNamespace(7).ToString());
    }
}
