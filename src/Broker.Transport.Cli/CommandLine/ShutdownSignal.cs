using System.Runtime.InteropServices;

namespace Broker.Transport.Cli.CommandLine;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM (what Kubernetes and systemd send) as a cancellation token. The first signal
/// asks for a graceful stop; a second one is left to the runtime, which ends the process at once.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _requested = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public ShutdownSignal()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => _requested.Token;

    /// <summary>The signal that asked for the stop, once one did.</summary>
    public PosixSignal? Received { get; private set; }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _requested.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_requested.IsCancellationRequested)
        {
            return;
        }

        context.Cancel = true;
        Received = context.Signal;
        _requested.Cancel();
    }
}
