using System.Globalization;

namespace Engine.Tests.Campaigns;

/// <summary>Environment knobs of the campaigns (documented in the README, "Tests").</summary>
internal static class CampaignSettings
{
    /// <summary>A positive integer from <paramref name="variable"/>, else <paramref name="fallback"/>.</summary>
    public static int Count(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : fallback;

    /// <summary>The seed from <paramref name="variable"/> (to replay a failure), else a fresh random one.</summary>
    public static int Seed(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s)
            ? s
            : Random.Shared.Next(1, int.MaxValue);
}
