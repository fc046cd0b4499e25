using System.Runtime.InteropServices;
using Engine.Interop;
using Engine.Tests.Support;

namespace Engine.Tests.Wiring;

public sealed class NativeLibraryTests
{
    [Fact]
    public void Exactly_one_librocksdb_is_mapped_and_it_is_the_plugins_system_library()
    {
        using var dir = new TestStoreDirectory();
        using EncryptedStore store = dir.Open();
        store.GetNamespace("n").Put("k", "v");

        string expected = NativeLibraryCheck.EnsureLoaded();
        IReadOnlyList<string> mapped = NativeLibraryCheck.MappedRocksDbLibraries();
        Assert.Equal([expected], mapped);
        Assert.StartsWith("/usr/lib/", expected, StringComparison.Ordinal);
        string headerVersion = Marshal.PtrToStringUTF8(NativeMethods.RocksDbHeaderVersion())!;
        Assert.Equal("librocksdb.so." + headerVersion, Path.GetFileName(expected));
        Assert.Equal(NativeMethods.ExpectedAbiVersion, NativeMethods.AbiVersion());
    }

    [Fact]
    public void A_missing_system_library_is_an_error_naming_the_debian_package_to_install()
    {
        // The same check the first open runs for librocksdb.so.7.8 and libcrypto.so.3, on a library no machine has.
        var e = Assert.Throws<EngineException>(() => NativeLibraryCheck.RequireSystemLibrary("librocksdb.so.0.0.404", "librocksdb0.0"));
        Assert.Contains("librocksdb.so.0.0.404", e.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install librocksdb0.0", e.Message, StringComparison.Ordinal);
        // And the real ones are present here, under the package names the message would give.
        Assert.Contains(NativeLibraryCheck.SystemLibraries, l => l is ("librocksdb.so.7.8", "librocksdb7.8"));
        foreach ((string soName, string package) in NativeLibraryCheck.SystemLibraries)
        {
            NativeLibraryCheck.RequireSystemLibrary(soName, package);
        }
    }
}
