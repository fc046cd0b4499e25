using System.Runtime.InteropServices;
using Engine.Interop;

namespace Engine;

/// <summary>
/// Start-up checks of the native side: the plugin speaks the expected ABI, and exactly one
/// librocksdb is mapped in the process, the very file the plugin was linked against. Two copies
/// (e.g. RocksDbSharp's bundled library next to Debian's) would each have their own globals and
/// their own idea of every struct layout, and the plugin's Env would be handed to the wrong one.
/// </summary>
internal static class NativeLibraryCheck
{
    private static readonly Lazy<string> s_rocksDbLibrary = new(Check, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Real path of the one librocksdb in this process.</summary>
    /// <exception cref="EngineException">The plugin is missing or mismatched, or librocksdb is loaded twice.</exception>
    public static string EnsureLoaded() => s_rocksDbLibrary.Value;

    /// <summary>The shared libraries the plugin links against, with the Debian 12 package that ships each.</summary>
    internal static readonly (string SoName, string DebianPackage)[] SystemLibraries =
    [
        ("librocksdb.so.7.8", "librocksdb7.8"),
        ("libcrypto.so.3", "libssl3"),
    ];

    /// <summary>
    /// Fails with a message naming the Debian package when a shared library the plugin needs is not
    /// installed: the loader's own error for the plugin would only say "one of its dependencies".
    /// </summary>
    /// <exception cref="EngineException">The library cannot be loaded.</exception>
    internal static void RequireSystemLibrary(string soName, string debianPackage)
    {
        if (!NativeLibrary.TryLoad(soName, out nint handle))
        {
            throw new EngineException(
                $"The engine needs the system library {soName}, which is not installed: on Debian 12 run " +
                $"'apt-get install {debianPackage}' (the engine runs on Debian's RocksDB 7.8 and OpenSSL 3, linux-x64).");
        }
        NativeLibrary.Free(handle);
    }

    private static unsafe string Check()
    {
        foreach ((string soName, string package) in SystemLibraries)
        {
            RequireSystemLibrary(soName, package);
        }
        uint abi;
        try
        {
            abi = NativeMethods.AbiVersion();
        }
        catch (DllNotFoundException ex)
        {
            throw new EngineException(
                "The encrypted file system plugin libekvfs.so could not be loaded: it ships in the Ekv.Engine package under " +
                "runtimes/linux-x64/native/ (linux-x64 only), or is built by the Engine project from source (cmake, g++, " +
                "librocksdb-dev and libssl-dev required).", ex);
        }
        if (abi != NativeMethods.ExpectedAbiVersion)
        {
            throw new EngineException($"libekvfs.so speaks ABI {abi}, this engine expects {NativeMethods.ExpectedAbiVersion}: rebuild the Engine project.");
        }

        // Make RocksDbSharp load its library now, so that the mapping check below sees it.
        try
        {
            _ = RocksDbSharp.Native.Instance;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new EngineException("RocksDbSharp could not load the system librocksdb (install librocksdb-dev).", ex);
        }

        byte* buffer = stackalloc byte[4096];
        if (NativeMethods.RocksDbLibraryPath(buffer, 4096) != (int)NativeStatus.Ok)
        {
            throw new EngineException("libekvfs.so could not tell which librocksdb it is linked against.");
        }
        string pluginLibrary = RealPath(Marshal.PtrToStringUTF8((nint)buffer)!);
        IReadOnlyList<string> mapped = MappedRocksDbLibraries();
        if (mapped.Count != 1 || mapped[0] != pluginLibrary)
        {
            throw new EngineException(
                $"Expected exactly one librocksdb in the process, the one libekvfs.so was built against ({pluginLibrary}); " +
                $"found: {(mapped.Count == 0 ? "none" : string.Join(", ", mapped))}. " +
                "Reference the RocksDB package with ExcludeAssets=\"native\" so that the system library is used.");
        }
        // The plugin's C++ code was compiled against one set of RocksDB headers: the library it
        // runs on must be that version (Debian names it librocksdb.so.MAJOR.MINOR.PATCH).
        string headerVersion = Marshal.PtrToStringUTF8(NativeMethods.RocksDbHeaderVersion()) ?? "?";
        string fileName = System.IO.Path.GetFileName(pluginLibrary);
        const string prefix = "librocksdb.so.";
        if (fileName.StartsWith(prefix, StringComparison.Ordinal) && fileName[prefix.Length..] != headerVersion)
        {
            throw new EngineException($"libekvfs.so was compiled against RocksDB {headerVersion} headers but runs on {pluginLibrary}: rebuild the Engine project.");
        }
        return pluginLibrary;
    }

    /// <summary>Distinct real paths of every librocksdb shared object mapped into this process.</summary>
    internal static IReadOnlyList<string> MappedRocksDbLibraries()
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        // Not a store file: the process's own memory map (System.IO here is outside StoreFiles' remit).
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }
            string path = line[slash..].Trim();
            if (System.IO.Path.GetFileName(path).StartsWith("librocksdb", StringComparison.Ordinal))
            {
                paths.Add(RealPath(path));
            }
        }
        return [.. paths];
    }

    /// <summary>The final target of a mapped library's path (a system library, not a store file).</summary>
    private static string RealPath(string path)
    {
        var info = new FileInfo(path);
        FileSystemInfo? target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? info.FullName;
    }
}
