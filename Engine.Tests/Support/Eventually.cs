using System.Diagnostics;

namespace Engine.Tests.Support;

/// <summary>
/// Waits for a condition with a deadline instead of sleeping a fixed time: on a loaded machine (two test
/// runs and builds on two cores) whatever the test waits for may take much longer than on a quiet one,
/// and a fixed sleep either wastes time or fails. The condition is polled, first at once.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passed.</summary>
    /// <returns>Whether the condition held (the last poll happens at or after the deadline).</returns>
    public static bool Holds(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed >= timeout)
            {
                return false;
            }
            Thread.Sleep(s_poll);
        }
        return true;
    }
}
