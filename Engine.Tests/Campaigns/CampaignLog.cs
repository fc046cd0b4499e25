namespace Engine.Tests.Campaigns;

/// <summary>
/// Campaign summaries (seeds, counts per outcome). xunit shows test output only for failures, so a
/// passing run's tables go to the file named by <c>ENGINE_CAMPAIGN_REPORT</c> when it is set (appended).
/// </summary>
internal static class CampaignLog
{
    private static readonly Lock s_sync = new();

    public static void Write(string campaign, string text)
    {
        string? path = Environment.GetEnvironmentVariable("ENGINE_CAMPAIGN_REPORT");
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }
        lock (s_sync)
        {
            File.AppendAllText(path, $"== {campaign} ({DateTime.UtcNow:O})\n{text}\n");
        }
    }

    /// <summary>
    /// Copies a failing store (and its CMEK key file, as <c>cmek.key</c> next to it) to a directory that
    /// outlives the test, for a post-mortem; returns how to open it.
    /// </summary>
    public static string Preserve(string storePath, string keyPath, string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ekv-campaign-failures", name);
        string target = Path.Combine(dir, "store");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        File.Copy(keyPath, Path.Combine(dir, "cmek.key"));
        foreach (string file in Directory.EnumerateFiles(storePath, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(storePath, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return $"{target} (key: --cmek file:{Path.Combine(dir, "cmek.key")})";
    }
}
