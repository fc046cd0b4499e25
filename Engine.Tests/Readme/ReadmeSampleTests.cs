using System.Text.RegularExpressions;

namespace Engine.Tests.Readme;

/// <summary>
/// Every code sample the README shows is compiled as part of this test project: a block between
/// <c>// README-SAMPLE-BEGIN</c> and <c>// README-SAMPLE-END</c> in any test source must appear in README.md
/// verbatim (less its common indentation) as a <c>```csharp</c> block.
/// </summary>
public sealed partial class ReadmeSampleTests
{
    [Fact]
    public void Readme_shows_every_compiled_sample_verbatim()
    {
        string repo = RepoRoot();
        string readme = File.ReadAllText(Path.Combine(repo, "README.md"));
        var samples = new List<(string File, string Text)>();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(repo, "Engine.Tests"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }
            string source = File.ReadAllText(file);
            foreach (Match m in Block().Matches(source))
            {
                samples.Add((Path.GetRelativePath(repo, file), Dedent(m.Groups[1].Value)));
            }
        }
        Assert.True(samples.Count >= 2, $"expected the README samples in Engine.Tests, found {samples.Count}");
        foreach ((string file, string text) in samples)
        {
            Assert.True(readme.Contains("```csharp\n" + text + "```", StringComparison.Ordinal),
                $"README.md does not show the sample of {file} verbatim:\n{text}");
        }
    }

    private static string Dedent(string block)
    {
        string[] lines = block.Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ').Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Storage.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        Assert.True(dir is not null, "run from the repository (Storage.sln not found above " + AppContext.BaseDirectory + ")");
        return dir;
    }

    // From the line after the BEGIN marker to the start of the END marker's line.
    [GeneratedRegex(@"^[ \t]*// README-SAMPLE-BEGIN[^\n]*\n(.*?)^[ \t]*// README-SAMPLE-END", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex Block();
}
