namespace Engine.Tests.Observability;

/// <summary>
/// Tests that start a MeterListener, ActivityListener or OpenTelemetry pipeline on the engine's
/// process-wide meter and activity source. They run alone: while they listen, every store in the
/// process (other test classes' too) reports its measurements and spans to their callbacks on the
/// calling thread, which allocates there and broke the zero-allocation check of cursor steps
/// (SnapshotCursorTests, 7,616 bytes in one CI run).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideListenersGroup
{
    public const string Name = "process-wide listeners";
}
