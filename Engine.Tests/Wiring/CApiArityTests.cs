using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Engine.Tests.Wiring;

/// <summary>
/// RocksDbSharp 11.12 binds to Debian's librocksdb 7.8.3 lazily, by name. A C function whose
/// parameter list changed between the two would be called with the wrong arguments, so every
/// function the engine can reach must exist in 7.8.3 with the same number of parameters.
/// </summary>
public sealed partial class CApiArityTests
{
    private const string Header = "/usr/include/rocksdb/c.h";

    [Fact]
    public void Every_reachable_native_function_matches_its_c_h_prototype_and_is_exported()
    {
        Dictionary<string, int> prototypes = ParsePrototypes(File.ReadAllText(Header));
        Assert.True(prototypes.Count > 500, $"parsed only {prototypes.Count} prototypes from {Header}");

        IReadOnlyCollection<MethodInfo> used = RocksDbCallGraph.RawFunctionsReachableFrom(typeof(EncryptedStore).Assembly);
        var names = used.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        // The walk must see the calls it exists to check; an empty result would prove nothing.
        foreach (string expected in new[] { "rocksdb_open_column_families", "rocksdb_put_cf", "rocksdb_get_cf", "rocksdb_write", "rocksdb_create_column_family", "rocksdb_options_set_env", "rocksdb_iter_next", "rocksdb_flush_cf" })
        {
            Assert.Contains(expected, names);
        }

        nint lib = NativeLibrary.Load(NativeLibraryCheck.EnsureLoaded());
        var problems = new List<string>();
        foreach (MethodInfo m in used.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            int managed = m.GetParameters().Length;
            if (!prototypes.TryGetValue(m.Name, out int c))
            {
                problems.Add($"{m.Name}: no prototype in {Header} (used as {m})");
            }
            else if (c != managed)
            {
                problems.Add($"{m.Name}: c.h has {c} parameters, RocksDbSharp passes {managed} ({m})");
            }
            if (!NativeLibrary.TryGetExport(lib, m.Name, out _))
            {
                problems.Add($"{m.Name}: not exported by the system librocksdb");
            }
        }
        Assert.True(problems.Count == 0, $"{problems.Count} mismatch(es) among {used.Count} functions:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Prototype_parser_counts_function_pointer_parameters_as_one()
    {
        const string text = """
            /* comment rocksdb_fake(int a); */
            extern ROCKSDB_LIBRARY_API void rocksdb_a(void);
            extern ROCKSDB_LIBRARY_API rocksdb_t* rocksdb_b(const rocksdb_options_t* options,
                const char* name, char** errptr);
            extern ROCKSDB_LIBRARY_API void rocksdb_c(void* state, void (*destructor)(void*, int),
                const char* (*name)(void*));
            """;
        Dictionary<string, int> parsed = ParsePrototypes(text);
        Assert.Equal(0, parsed["rocksdb_a"]);
        Assert.Equal(3, parsed["rocksdb_b"]);
        Assert.Equal(3, parsed["rocksdb_c"]);
        Assert.False(parsed.ContainsKey("rocksdb_fake"));
    }

    internal static Dictionary<string, int> ParsePrototypes(string text)
    {
        string code = Comments().Replace(text, " ");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in Prototype().Matches(code))
        {
            result[m.Groups[1].Value] = CountParameters(code, m.Index + m.Length);
        }
        return result;
    }

    /// <summary>Counts top-level commas between the opening parenthesis at <paramref name="open"/> - 1 and its match.</summary>
    private static int CountParameters(string code, int afterOpen)
    {
        int depth = 1;
        int commas = 0;
        var body = new System.Text.StringBuilder();
        for (int i = afterOpen; i < code.Length && depth > 0; i++)
        {
            char ch = code[i];
            if (ch == '(')
            {
                depth++;
            }
            else if (ch == ')')
            {
                depth--;
            }
            else if (ch == ',' && depth == 1)
            {
                commas++;
            }
            if (depth > 0)
            {
                body.Append(ch);
            }
        }
        string inner = body.ToString().Trim();
        return inner.Length == 0 || inner == "void" ? 0 : commas + 1;
    }

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"extern\s+ROCKSDB_LIBRARY_API\s+[^;{]*?\b(rocksdb_\w+)\s*\(")]
    private static partial Regex Prototype();
}
