using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Engine.Tests.Model;

/// <summary>
/// One command of the stateful model (an FsCheck <see cref="Operation{Actual, Model}"/>): a pure step of
/// the model (<see cref="Next"/>), the same step on the store (<see cref="Execute"/>), and a comparison of
/// store and model after it. <see cref="object.ToString"/> is what a counterexample prints.
/// </summary>
internal abstract class StoreOp : Operation<StoreHarness, StoreModel>
{
    /// <summary>Data commands need an open store (serving or locked); see <see cref="ModelCheck.Call"/>.</summary>
    public override bool Pre(StoreModel model) => model.State != ModelState.Closed;

    public sealed override StoreModel Run(StoreModel model) => Next(model with { Touched = StoreModel.NoNamespaces, Refused = false });

    /// <summary>
    /// Runs the command against the model the store has shown so far (<see cref="StoreHarness.Model"/>:
    /// <paramref name="expected"/>'s chain plus the retries of a degraded store, see
    /// <see cref="DegradedRetry"/>; the same as <paramref name="expected"/> when there were none) and
    /// compares store and model after it. A command whose precondition no longer holds after such a retry
    /// is skipped.
    /// </summary>
    public sealed override Property Check(StoreHarness harness, StoreModel expected)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        StoreModel after;
        try
        {
            StoreModel before = DegradedRetry.Observe(harness, harness.Model);
            if (!Pre(before))
            {
                PbtStats.Current.RecordBackground("commands skipped (precondition false after a retry)");
                harness.Model = before;
                return Prop.ToProperty(true);
            }
            after = Run(before);
            try
            {
                Execute(harness, after);
            }
            catch (Exception) when (DegradedRetry.LockedMeanwhile(harness, before, after))
            {
                // A retry locked the store during the command: it is a command on a locked store.
                before = DegradedRetry.Locked(before);
                DegradedRetry.Count(harness, "Degraded->Locked during a command");
                after = Run(before);
                Execute(harness, after);
            }
            harness.CmekSinceLastLook.Add(after.Cmek);
            after = DegradedRetry.Observe(harness, after);
            try
            {
                ModelCheck.Matches(harness, after);
            }
            catch (Exception) when (after.State == ModelState.Degraded)
            {
                // A retry may have changed the state while the check ran (a scan refused by a lock, a state
                // read after it): check again against what it allows; with no allowed change, the failure stands.
                StoreModel again = DegradedRetry.Observe(harness, after);
                if (ReferenceEquals(again, after))
                {
                    throw;
                }
                after = again;
                ModelCheck.Matches(harness, after);
            }
        }
        catch (Exception ex)
        {
            harness.Dispose(); // FsCheck skips the teardown of a failing run
            throw ex is ModelMismatchException
                ? new ModelMismatchException($"{this}: {ex.Message}", ex)
                : new ModelMismatchException($"{this} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
        harness.Model = after;
        PbtStats.Current.Record(Kind, after, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return Prop.ToProperty(true);
    }

    /// <summary>Name of the command kind, for statistics.</summary>
    public virtual string Kind => GetType().Name[..^2]; // without "Op"

    /// <summary>Simpler variants of this command, tried while shrinking a counterexample.</summary>
    public virtual IEnumerable<StoreOp> Shrink() => [];

    /// <summary>The model after this command (pure; called when generating and again when shrinking).</summary>
    protected abstract StoreModel Next(StoreModel model);

    /// <summary>Runs the command on the store and checks its direct result against <paramref name="expected"/> (the model after it).</summary>
    protected abstract void Execute(StoreHarness harness, StoreModel expected);
}
