using System.CommandLine;
using System.Globalization;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>log</c>: prints the store's info LOG (RocksDB's diagnostic log), which the plugin encrypts like every
/// other file, decrypted and authenticated.
/// </summary>
/// <remarks>
/// The store is deliberately <em>not</em> opened: opening RocksDB rotates the LOG (LOG becomes LOG.old.*),
/// so the operator would only ever see the lines of this very open. Instead the key registry is unwrapped
/// with the CMEK and a plugin env reads the files through <c>ekv_file_read</c> (every byte authenticated;
/// a torn tail of a LOG still being written reads as its end). No file is written and the store's lock is
/// not taken, so this works next to a running application.
/// </remarks>
internal static class LogCommand
{
    private const string LogName = "LOG";
    private const string OldPrefix = "LOG.old.";
    private const int Chunk = 1 << 20;

    public static Command Create()
    {
        Option<string> store = CliOptions.Store();
        Option<string?> cmek = CliOptions.CmekOverride();
        var all = new Option<bool>("--all")
        {
            Description = "Also print the previous info logs (LOG.old.*), oldest first, each after a '==> NAME <==' line",
        };
        var command = new Command("log", "Print the store's info LOG (RocksDB's diagnostic log), decrypted") { store, cmek, all };
        command.SetBody(parse => Run(parse.GetRequiredValue(store), parse.GetValue(cmek), parse.GetValue(all)));
        return command;
    }

    private static int Run(string dir, string? cmekOverride, bool all)
    {
        string root = Path.GetFullPath(dir);
        if (File.Exists(root))
        {
            throw new UsageException($"{root} is a file, not a store directory");
        }
        if (!Directory.Exists(root))
        {
            throw new UsageException($"no store at {root}: the directory does not exist");
        }
        if (!StoreAccess.IsStore(root))
        {
            throw new UsageException($"{root} is not an encrypted store (it has no KEYRING file)");
        }

        var files = new List<string>();
        if (all)
        {
            files.AddRange(Directory.EnumerateFiles(root, OldPrefix + "*")
                .Select(Path.GetFileName)
                .OfType<string>()
                .OrderBy(OldLogOrder)
                .ThenBy(n => n, StringComparer.Ordinal));
        }
        if (File.Exists(Path.Combine(root, LogName)))
        {
            files.Add(LogName);
        }
        if (files.Count == 0)
        {
            throw new EngineException($"{root} has no info LOG (RocksDB writes it when the store is opened)");
        }

        string uri = cmekOverride ?? KeyRegistry.ReadCmekUri(root)
            ?? throw new UsageException($"the key registry of {root} records no CMEK URI; pass --cmek URI");
        using ICmekProvider provider = CmekProviders.Open(uri);
        using KeyRegistry registry = BlockingBridge.Wait(ct => KeyRegistry.OpenAsync(root, provider, ct));
        using var keys = new FileKeyService(registry, new StoreLayout(root).ScopeOf);
        using EncryptedEnvHandle env = EncryptedEnvHandle.Create(keys, StoreOptions.DefaultFrameSize, inMemory: false);

        using Stream stdout = Console.OpenStandardOutput();
        foreach (string name in files)
        {
            if (all)
            {
                stdout.Write(System.Text.Encoding.UTF8.GetBytes($"==> {name} <==\n"));
            }
            Copy(env, Path.Combine(root, name), stdout);
        }
        stdout.Flush();
        return ExitCodes.Ok;
    }

    /// <summary>RocksDB names old logs LOG.old.&lt;microseconds since the epoch&gt;; order by that number.</summary>
    private static ulong OldLogOrder(string name) =>
        ulong.TryParse(name.AsSpan(OldPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out ulong t) ? t : ulong.MaxValue;

    /// <summary>Streams the plaintext of <paramref name="path"/> to <paramref name="output"/>, one authenticated chunk at a time.</summary>
    private static unsafe void Copy(EncryptedEnvHandle env, string path, Stream output)
    {
        byte[] buffer = new byte[Chunk];
        ulong offset = 0;
        while (true)
        {
            ulong read = 0;
            fixed (byte* b = buffer)
            {
                byte* bytes = b;
                ulong at = offset;
                NativeCall.Check(path, (msg, cap) => NativeMethods.FileRead(env, path, at, bytes, (ulong)buffer.Length, out read, msg, cap));
            }
            if (read == 0)
            {
                return;
            }
            output.Write(buffer, 0, (int)read);
            offset += read;
            if (read < (ulong)buffer.Length)
            {
                return;
            }
        }
    }
}
