using Engine.Cli.Output;

namespace Engine.Cli.Workload;

/// <summary>What the final read-back found, per worker and then summed.</summary>
internal sealed class VerifyTally
{
    /// <summary>Keys with at least one acknowledged put.</summary>
    public long Acknowledged { get; set; }

    /// <summary>Keys holding their last acknowledged value (or a later one of unknown outcome).</summary>
    public long Verified { get; private set; }

    /// <summary>Keys absent, or holding an older value (<see cref="Stale"/> is a subset).</summary>
    public long Missing { get; private set; }

    public long Stale { get; private set; }

    public long Wrong { get; private set; }

    /// <summary>Keys whose read failed (<see cref="IntegrityFailures"/> of them on authentication).</summary>
    public long Unreadable { get; private set; }

    public long IntegrityFailures { get; private set; }

    /// <summary>Keys not read because the store stayed locked.</summary>
    public long Unchecked { get; set; }

    /// <summary>Verification stopped waiting for the store to unlock.</summary>
    public bool GaveUp { get; set; }

    /// <summary>The first bad key and what was wrong with it, for the error line.</summary>
    public string? FirstProblem { get; private set; }

    public void Record(byte[] key, Verdict verdict)
    {
        switch (verdict)
        {
            case Verdict.Ok:
                Verified++;
                return;
            case Verdict.Missing:
                Missing++;
                FirstProblem ??= $"key {ByteText.Escape(key)} is absent";
                return;
            case Verdict.Stale:
                Missing++;
                Stale++;
                FirstProblem ??= $"key {ByteText.Escape(key)} holds an older value than its last acknowledged put";
                return;
            default:
                Wrong++;
                FirstProblem ??= $"key {ByteText.Escape(key)} holds a value never written to it";
                return;
        }
    }

    public void RecordUnreadable(byte[] key, EngineException error, bool integrity)
    {
        Unreadable++;
        if (integrity)
        {
            IntegrityFailures++;
        }
        FirstProblem ??= $"key {ByteText.Escape(key)} could not be read: {error.Message}";
    }

    public void Add(VerifyTally other)
    {
        Acknowledged += other.Acknowledged;
        Verified += other.Verified;
        Missing += other.Missing;
        Stale += other.Stale;
        Wrong += other.Wrong;
        Unreadable += other.Unreadable;
        IntegrityFailures += other.IntegrityFailures;
        Unchecked += other.Unchecked;
        GaveUp |= other.GaveUp;
        FirstProblem ??= other.FirstProblem;
    }
}
