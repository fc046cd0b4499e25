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

    public sealed override Property Check(StoreHarness harness, StoreModel expected)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            Execute(harness, expected);
            ModelCheck.Matches(harness, expected);
        }
        catch (Exception ex)
        {
            harness.Dispose(); // FsCheck skips the teardown of a failing run
            throw ex is ModelMismatchException
                ? new ModelMismatchException($"{this}: {ex.Message}", ex)
                : new ModelMismatchException($"{this} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
        PbtStats.Current.Record(Kind, expected, System.Diagnostics.Stopwatch.GetElapsedTime(started));
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
