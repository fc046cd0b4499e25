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
}
