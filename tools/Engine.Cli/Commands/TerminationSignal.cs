using System.Runtime.InteropServices;

namespace Engine.Cli.Commands;

/// <summary>
/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a cancellation, so long-running verbs
/// (<c>kms serve</c>, <c>workload</c>) stop cleanly: the server releases its port, the workload
/// still verifies what it wrote and prints its summary. A second signal is not intercepted and
/// ends the process the usual way, for when the clean stop itself hangs.
/// </summary>
/// <remarks>
/// Handled here rather than through System.CommandLine's termination handling because the verbs are
/// synchronous (Program.cs invokes synchronously) and must keep their one-line error contract.
/// </remarks>
internal sealed class TerminationSignal : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration[] _registrations;

    public TerminationSignal()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>The signal that asked for the stop, once one did.</summary>
    public PosixSignal? Received { get; private set; }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
        _cancellation.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_cancellation.IsCancellationRequested)
        {
            return; // second signal: let the default action end the process
        }
        Received = context.Signal;
        context.Cancel = true;
        _cancellation.Cancel();
    }
}
