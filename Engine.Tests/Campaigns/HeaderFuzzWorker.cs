using System.Globalization;
using System.Text;
using Engine.Crypto;
using Engine.Interop;

namespace Engine.Tests.Campaigns;

/// <summary>
/// The header fuzzer's worker (run in a child process, protocol: <see cref="WorkerCampaign"/>): builds a
/// small store, then writes each FsCheck-generated case as a file next to the real file it was made
/// from (same key scope, same file type) and asks the plugin to verify it (<c>ekv_file_verify</c>) and to
/// read all of it (<c>ekv_file_read</c>). A case passes when both give a clear error naming the file, or
/// when what reads back is exactly (or, for a torn tail, a prefix of) the plaintext of the real file.
/// </summary>
internal static class HeaderFuzzWorker
{
    public const string Integrity = "integrity error naming the file";
    public const string KeyUnavailable = "key unavailable naming the file";
    public const string ReadsOriginal = "reads the original plaintext (header still valid)";
    public const string ReadsPrefix = "reads a prefix of the original (cut at a frame end)";
    public const string TornPrefix = "torn tail: reads a prefix of the original";
    public const string Empty = "0-byte log-like file reads as empty";

    private sealed record Source(string Relative, byte[] Content, byte[] Plain);

    public static int ChildMain(string[] args)
    {
        int seed = int.Parse(args[0], CultureInfo.InvariantCulture);
        int first = int.Parse(args[1], CultureInfo.InvariantCulture);
        int end = int.Parse(args[2], CultureInfo.InvariantCulture);
        FuzzCase[] cases = HeaderFuzzCases.Generate(seed, end);

        string parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string root = Path.Combine(parent, "ekv-fuzz-" + Guid.NewGuid().ToString("N")[..12]);
        string store = Path.Combine(root, "store");
        string key = Path.Combine(root, "cmek.key");
        Directory.CreateDirectory(root);
        try
        {
            LocalKeyFileCmek.Create(key).Dispose();
            BuildStore(store, "file:" + key);
            using var emit = new WorkerCampaign.Emitter();
            emit.Scratch(store, key);
            using var plugin = new PluginFiles(store, "file:" + key);
            Source[] sources = [.. TamperFixture.PluginFilesOf(store)
                .Select(rel => new Source(rel, File.ReadAllBytes(Path.Combine(store, rel)), plugin.ReadAll(Path.Combine(store, rel))))];

            for (int i = first; i < end; i++)
            {
                FuzzCase c = cases[i];
                Source src = sources[c.Source % sources.Length];
                string dir = Path.GetDirectoryName(Path.Combine(store, src.Relative))!;
                string ext = FileGeometry.IsImmutable(src.Relative) ? ".sst" : ".log";
                string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"9{i:D5}{ext}"));
                string description = $"{c} from {src.Relative}, as {Path.GetRelativePath(store, path)}";
                byte[] bytes = HeaderFuzzCases.Materialize(c, src.Content);
                File.WriteAllBytes(path, bytes);
                emit.Begin(i, description);
                (string verdict, string detail) = Judge(plugin, path, bytes, c, src);
                emit.Result(i, verdict, false, c.Kind, ext, description, detail);
                File.Delete(path);
            }
            emit.End();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
        return 0;
    }

    private static (string Verdict, string Detail) Judge(PluginFiles plugin, string path, byte[] bytes, FuzzCase c, Source src)
    {
        string name = Path.GetFileName(path);
        PluginFiles.Verdict v = plugin.Verify(path);
        byte[]? read = null;
        EngineException? readError = null;
        try
        {
            read = plugin.ReadAll(path);
        }
        catch (EngineException ex)
        {
            readError = ex;
        }

        switch (v.Status)
        {
            case NativeStatus.Integrity or NativeStatus.KeyUnavailable:
                {
                    EngineException e = v.ToException(path);
                    if (!e.Message.Contains(name, StringComparison.Ordinal))
                    {
                        return ("FAIL error does not name the file", $"{e.GetType().Name}: {e.Message}");
                    }
                    if (readError is null)
                    {
                        return ("FAIL verify and read disagree", $"verify: {e.Message}; but the read returned {read!.Length} bytes");
                    }
                    if (!readError.Message.Contains(name, StringComparison.Ordinal) || readError is not (IntegrityException or KeyUnavailableException))
                    {
                        return ("FAIL read error unclear", $"{readError.GetType().Name}: {readError.Message}");
                    }
                    return (e is IntegrityException ? Integrity : KeyUnavailable, e.Message);
                }
            case NativeStatus.Ok or NativeStatus.TornTail:
                {
                    if (readError is not null)
                    {
                        return ("FAIL verify and read disagree", $"verify: {v.Status}; read: {readError.Message}");
                    }
                    if (v.Status == NativeStatus.TornTail && FileGeometry.IsImmutable(path))
                    {
                        return ("FAIL torn tail on an immutable file", v.Message);
                    }
                    if (read!.Length != v.LogicalBytes)
                    {
                        return ("FAIL verify and read disagree", $"verify counts {v.LogicalBytes} bytes, the read returned {read.Length}");
                    }
                    bool fromSource = c is not RandomBytesCase;
                    if (bytes.Length == 0 && read.Length == 0 && !FileGeometry.IsImmutable(path))
                    {
                        return (Empty, v.Message);
                    }
                    if (!fromSource || !src.Plain.AsSpan().StartsWith(read))
                    {
                        return ("FAIL wrong plaintext", $"{read.Length} bytes read back that are not {(fromSource ? "a prefix of the original" : "expected from random bytes")}: {Hex(read)}");
                    }
                    if (v.Status == NativeStatus.TornTail)
                    {
                        return (TornPrefix, $"{read.Length} of {src.Plain.Length} bytes");
                    }
                    if (c is MutatedHeaderCase { KeepFrames: true } && read.Length != src.Plain.Length)
                    {
                        return ("FAIL silent truncation", $"the header stayed valid and every frame is there, yet only {read.Length} of {src.Plain.Length} bytes read back");
                    }
                    return read.Length == src.Plain.Length ? (ReadsOriginal, v.Message) : (ReadsPrefix, $"{read.Length} of {src.Plain.Length} bytes");
                }
            default:
                return ($"FAIL unexpected status {v.Status}", v.Message);
        }
    }

    private static string Hex(byte[] b) => Convert.ToHexString(b.AsSpan(0, Math.Min(32, b.Length)));

    /// <summary>A small store with every kind of file: SSTs in two namespaces, a WAL with unflushed data, MANIFEST, OPTIONS, LOG...</summary>
    private static void BuildStore(string path, string cmekUri)
    {
        using EncryptedStore s = EncryptedStore.Open(new StoreOptions { Path = path, CmekUri = cmekUri });
        StoreNamespace a = s.GetNamespace("fuzz-a");
        StoreNamespace b = s.GetNamespace("fuzz-b");
        for (int i = 0; i < 300; i++)
        {
            (i % 2 == 0 ? a : b).Put(Encoding.ASCII.GetBytes($"k{i:D4}"), TamperFixture.Value(i % 2, $"k{i:D4}", 1, 30 + (i * 37 % 500)));
        }
        s.Flush();
        for (int i = 0; i < 40; i++)
        {
            a.Put(Encoding.ASCII.GetBytes($"w{i:D4}"), TamperFixture.Value(0, $"w{i:D4}", 2, 100), sync: i % 8 == 0);
        }
    }
}
