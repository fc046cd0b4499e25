using System.Globalization;

namespace Engine.Tests.Campaigns;

/// <summary>
/// Worker of the exhaustive cut sweep (<see cref="TamperSweepTests"/>): every log-like file of the
/// cleanly closed tamper store, cut at every frame boundary and to its 1024-byte header, one cut per
/// case, judged as in the tamper campaign (<see cref="TamperWorker.Judge"/>). Cases are numbered in a
/// fixed order (files by path, cuts by length); the worker ends after the last one.
/// </summary>
internal static class TamperSweepWorker
{
    /// <summary>Every cut of the snapshot's log-like files: file, length kept, frames kept, frames in the file.</summary>
    public static List<(string File, long Length, int Kept, int Frames)> Cuts(TamperFixture fixture)
    {
        var cuts = new List<(string, long, int, int)>();
        foreach (string rel in TamperFixture.PluginFilesOf(fixture.Snapshot).Where(f => !FileGeometry.IsImmutable(f)))
        {
            byte[] content = File.ReadAllBytes(Path.Combine(fixture.Snapshot, rel));
            FileGeometry g = FileGeometry.Of(rel, content);
            for (int kept = 0; kept < g.Frames.Count; kept++)
            {
                long length = kept == 0 ? FileGeometry.HeaderRegion : g.Frames[kept - 1].Offset + g.Frames[kept - 1].Length;
                cuts.Add((rel, length, kept, g.Frames.Count));
            }
        }
        return cuts;
    }

    /// <summary>Arguments: seed (unused: the sweep is exhaustive), first case, end (exclusive; capped at the number of cuts).</summary>
    public static int ChildMain(string[] args)
    {
        int first = int.Parse(args[1], CultureInfo.InvariantCulture);
        int end = int.Parse(args[2], CultureInfo.InvariantCulture);
        using var emit = new WorkerCampaign.Emitter();
        using TamperFixture fixture = TamperFixture.Build();
        emit.Scratch(fixture.Work, fixture.KeyPath);
        List<(string File, long Length, int Kept, int Frames)> cuts = Cuts(fixture);
        fixture.Restore();
        using var plugin = new PluginFiles(fixture.Work, fixture.CmekUri);
        for (int i = first; i < Math.Min(end, cuts.Count); i++)
        {
            (string rel, long length, int kept, int frames) = cuts[i];
            fixture.Restore();
            string path = Path.Combine(fixture.Work, rel);
            byte[] original = File.ReadAllBytes(path);
            File.WriteAllBytes(path, original[..(int)length]);
            MutationKind kind = kept == 0 ? MutationKind.TruncateLogToHeader : MutationKind.TruncateLogAtFrameBoundary;
            FileRole role = TamperFixture.RoleOf(rel, fixture.ObsoleteFiles);
            string desc = kept == 0
                ? string.Create(CultureInfo.InvariantCulture, $"cut to its header: all {frames} frames removed (case {i + 1} of {cuts.Count})")
                : string.Create(CultureInfo.InvariantCulture, $"cut to {length} bytes: frames {kept}..{frames - 1} removed (case {i + 1} of {cuts.Count})");
            var m = new Mutation(kind, rel, role, desc, FileGeometry.Of(rel, original), length, length, SlotEffect.None);
            emit.Begin(i, m.ToString());
            TamperWorker.Outcome o;
            try
            {
                o = TamperWorker.Judge(fixture, plugin, m);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                o = new TamperWorker.Outcome($"FAIL harness: {ex.GetType().Name}", ex.ToString());
            }
            emit.Result(i, o.Verdict, o.NamesTarget, kind.ToString(), role.ToString(), m.ToString(), o.Detail);
        }
        emit.End();
        return 0;
    }
}
