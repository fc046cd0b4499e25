using System.Reflection;
using System.Runtime.InteropServices;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// One loaded and initialized PKCS#11 module per path and process. A module is initialized once per process
/// (a second C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED) and its login state is shared by all its
/// sessions, so every provider (and the tests) go through this reference-counted cache; the last release
/// finalizes the module, so a later open starts from a fresh C_Initialize (the token's state read anew).
/// </summary>
internal sealed class Pkcs11Module
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, Pkcs11Module> s_loaded = new(StringComparer.Ordinal);

    private int _references;

    static Pkcs11Module()
    {
        // Pkcs11Interop 5.3 imports dlopen from "libdl", which glibc >= 2.34 ships only as libdl.so.2 (the
        // unversioned name comes with libc6-dev). Resolve it here so that the provider runs where only the
        // runtime is installed.
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, ResolveLibdl);
        }
        catch (InvalidOperationException)
        {
            // The application installed its own resolver for Pkcs11Interop: it decides.
        }
    }

    private Pkcs11Module(string path, IPkcs11Library library)
    {
        Path = path;
        Library = library;
        ExactDecrypt = Pkcs11ExactDecrypt.Supported ? new Pkcs11ExactDecrypt(path) : null;
    }

    /// <summary>The factories that build mechanisms, attributes and parameters for this module.</summary>
    public static Pkcs11InteropFactories Factories { get; } = new();

    /// <summary>The module's path as given.</summary>
    public string Path { get; }

    /// <summary>The initialized module.</summary>
    public IPkcs11Library Library { get; }

    /// <summary>Decrypts into buffers the provider owns (see <see cref="Pkcs11ExactDecrypt"/>), or null on a
    /// platform layout it does not cover.</summary>
    public Pkcs11ExactDecrypt? ExactDecrypt { get; }

    /// <summary>True while some provider (or test) holds the module at <paramref name="path"/> loaded.</summary>
    public static bool IsLoaded(string path)
    {
        lock (s_lock)
        {
            return s_loaded.ContainsKey(path);
        }
    }

    /// <summary>Loads and initializes <paramref name="path"/>, or takes another reference to it.</summary>
    /// <exception cref="Pkcs11Exception">C_Initialize failed.</exception>
    /// <exception cref="UnmanagedException">The module cannot be loaded (missing, wrong architecture, not PKCS#11).</exception>
    public static Pkcs11Module Acquire(string path)
    {
        lock (s_lock)
        {
            if (!s_loaded.TryGetValue(path, out Pkcs11Module? module))
            {
                module = new Pkcs11Module(path, Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, path, AppType.MultiThreaded));
                s_loaded.Add(path, module);
            }

            module._references++;
            return module;
        }
    }

    /// <summary>Drops a reference taken by <see cref="Acquire"/>; the last one finalizes and unloads the module.</summary>
    public void Release()
    {
        lock (s_lock)
        {
            if (--_references > 0)
            {
                return;
            }

            s_loaded.Remove(Path);
            ExactDecrypt?.Dispose();
            try
            {
                Library.Dispose();
            }
            catch (Pkcs11Exception)
            {
                // C_Finalize failing (a token gone) leaves nothing for us to release.
            }
        }
    }

    private static IntPtr ResolveLibdl(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == "libdl" && OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libdl.so.2", out IntPtr handle))
        {
            return handle;
        }

        return IntPtr.Zero;
    }
}
