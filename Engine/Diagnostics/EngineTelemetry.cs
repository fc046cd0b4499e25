using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Engine.Diagnostics;

/// <summary>
/// The names an application wires to its telemetry: the meter and the activity source of every store.
/// </summary>
public static class EngineTelemetry
{
    /// <summary>Name of the <see cref="Meter"/> every store publishes to (also the name asked of an <see cref="IMeterFactory"/>).</summary>
    public const string MeterName = "Engine.EncryptedStore";

    /// <summary>Name of the <see cref="System.Diagnostics.ActivitySource"/> whose spans cover open, flush, compact, verify, rotations and imports.</summary>
    public const string ActivitySourceName = "Engine.EncryptedStore";

    /// <summary>Tag naming the store (its id, hex) on every instrument and span.</summary>
    public const string StoreIdTag = "engine.store.id";

    /// <summary>Tag naming the namespace, on instruments and spans that concern one.</summary>
    public const string NamespaceTag = "engine.namespace";

    /// <summary>Tag naming the kind of operation (get, put, delete, scan, batch) of <c>engine.store.operations</c>.</summary>
    public const string OperationTag = "engine.operation";

    /// <summary>Tag naming the outcome (healthy, transient, revoked) of a CMEK call.</summary>
    public const string OutcomeTag = "engine.cmek.outcome";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    /// <summary>The meter of stores opened without an <see cref="IMeterFactory"/>: one per process, never disposed.</summary>
    internal static readonly Meter SharedMeter = new(MeterName);

    private static readonly ConditionalWeakTable<Meter, StoreInstruments> Instruments = new();

    /// <summary>The meter a store publishes to: the factory's (cached by it per name) or the shared one.</summary>
    internal static Meter MeterFor(IMeterFactory? factory) => factory is null ? SharedMeter : factory.Create(new MeterOptions(MeterName));

    /// <summary>One set of instruments per meter, shared by every store publishing to it (told apart by their tags).</summary>
    internal static StoreInstruments InstrumentsFor(Meter meter) => Instruments.GetValue(meter, static m => new StoreInstruments(m));
}
