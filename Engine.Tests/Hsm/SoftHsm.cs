using System.Diagnostics;
using System.Globalization;
using Engine.Cmek.Pkcs11;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Engine.Tests.Hsm;

/// <summary>
/// A real SoftHSM2 (Debian's softhsm2, installed by tools/bootstrap.sh) with its token directory under a temp
/// folder: one softhsm2.conf per test process, named by SOFTHSM2_CONF before the module is first loaded.
/// Tokens and keys are made the way an operator makes them, with <c>softhsm2-util</c> and <c>pkcs11-tool</c>.
/// </summary>
/// <remarks>
/// SoftHSM reads its token directory at C_Initialize: a token created by another process while this process
/// has the module loaded stays invisible until the last user releases it (<see cref="Pkcs11Module"/>
/// finalizes then). So tests create their tokens first, before opening anything on them; keys can be made
/// any time. The HSM tests share one collection (they run one after another).
/// </remarks>
internal static partial class SoftHsm
{
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    public const string SoPin = "so-secret-5678";
    private static readonly TimeSpan s_toolTimeout = TimeSpan.FromSeconds(60);
    private static int s_serial;

    static SoftHsm()
    {
        Root = Directory.CreateTempSubdirectory("ekv-softhsm-").FullName;
        string tokens = Path.Combine(Root, "tokens");
        Directory.CreateDirectory(tokens);
        ConfPath = Path.Combine(Root, "softhsm2.conf");
        File.WriteAllText(ConfPath, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        // SoftHSM reads getenv("SOFTHSM2_CONF") at C_Initialize; .NET's SetEnvironmentVariable does not reach the
        // native environment on Unix, so set it there too (once, before any module load).
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", ConfPath);
        Assert.Equal(0, SetNativeEnvironment("SOFTHSM2_CONF", ConfPath, 1));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteRoot();
    }

    public static string Root { get; }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int SetNativeEnvironment(string name, string value, int overwrite);

    public static string ConfPath { get; }

    /// <summary>A token with a fresh label, its user PIN in a 0600 file.</summary>
    public static Token CreateToken(string pin = "user-1234")
    {
        Assert.True(File.Exists(ModulePath), $"{ModulePath} is missing: run tools/bootstrap.sh (installs softhsm2 and opensc)");
        Assert.False(Pkcs11Module.IsLoaded(ModulePath), "a token must be created before this process loads SoftHSM (it reads its tokens at C_Initialize): dispose every store and provider first");
        string label = string.Create(CultureInfo.InvariantCulture, $"ekv-{Environment.ProcessId}-{Interlocked.Increment(ref s_serial)}");
        Run("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", SoPin);
        string pinFile = Path.Combine(Root, label + ".pin");
        File.WriteAllText(pinFile, pin + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(pinFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new Token(label, pinFile, pin);
    }

    private static void DeleteRoot()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A token file still open at exit: the temp folder keeps it.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise: a leftover in the temp folder is harmless.
        }
    }

    /// <summary>Runs a tool with SOFTHSM2_CONF set; fails the test on a non-zero exit or after the timeout.</summary>
    public static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SOFTHSM2_CONF"] = ConfPath;
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_toolTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} did not finish within {s_toolTimeout.TotalSeconds} s");
        }

        string output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {output}");
        return output;
    }

    internal sealed record Token(string Label, string PinFile, string Pin)
    {
        /// <summary>Generates a non-extractable, sensitive, private AES-256 key with pkcs11-tool.</summary>
        public string CreateKey(string label)
        {
            string output = Run("pkcs11-tool", "--module", ModulePath, "--token-label", Label, "--login", "--pin", Pin,
                "--keygen", "--key-type", "AES:32", "--label", label, "--sensitive", "--private");
            Assert.Contains("never extractable", output, StringComparison.Ordinal);
            return Uri(label);
        }

        /// <summary>Deletes the key with pkcs11-tool (another process, as an operator would).</summary>
        public void DeleteKey(string label) =>
            Run("pkcs11-tool", "--module", ModulePath, "--token-label", Label, "--login", "--pin", Pin, "--delete-object", "--type", "secrkey", "--label", label);

        /// <summary>Deletes the whole token with softhsm2-util: the token is gone, as if removed.</summary>
        public void Delete() => Run("softhsm2-util", "--delete-token", "--token", Label);

        public string Uri(string keyLabel, string? pinFile = null) =>
            $"pkcs11:token={Label};object={keyLabel}?module-path={ModulePath}&pin-source=file:{pinFile ?? PinFile}";

        /// <summary>
        /// Sets the key's CKA_DECRYPT and CKA_ENCRYPT with C_SetAttributeValue (pkcs11-tool cannot), through this
        /// process's module: the change an operator makes to stop (or allow again) a key's use.
        /// </summary>
        public void SetUsage(string keyLabel, bool allowed)
        {
            Pkcs11Module module = Pkcs11Module.Acquire(ModulePath);
            try
            {
                ISlot slot = module.Library.GetSlotList(SlotsType.WithTokenPresent).Single(s => s.GetTokenInfo().Label == Label);
                using ISession session = slot.OpenSession(SessionType.ReadWrite);
                try
                {
                    session.Login(CKU.CKU_USER, Pin);
                }
                catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
                {
                    // The store's provider logged this process in already.
                }

                var factory = Pkcs11Module.Factories.ObjectAttributeFactory;
                IObjectHandle key = session.FindAllObjects(
                [
                    factory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                    factory.Create(CKA.CKA_LABEL, keyLabel),
                ]).Single();
                session.SetAttributeValue(key, [factory.Create(CKA.CKA_DECRYPT, allowed), factory.Create(CKA.CKA_ENCRYPT, allowed)]);
                Assert.Equal(allowed, session.GetAttributeValue(key, [CKA.CKA_DECRYPT])[0].GetValueAsBool());
            }
            finally
            {
                module.Release();
            }
        }
    }
}

/// <summary>
/// The HSM tests share SoftHSM's process-wide state (the module and its login), and the revocation tests assert
/// lock time bounds: they run alone, one after another, like the other lock timing tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HsmGroup
{
    public const string Name = "softhsm";
}
