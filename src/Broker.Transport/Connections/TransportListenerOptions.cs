using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>Options for the backend side: the listener.</summary>
public sealed class TransportListenerOptions
{
    /// <summary>The length of the kernel's queue of connections not yet accepted. Defaults to 512.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// How many established connections may wait for <see cref="TransportListener.AcceptAsync"/> before
    /// the listener stops taking new ones from the kernel. Defaults to 512.
    /// </summary>
    public int MaxQueuedConnections { get; set; } = 512;

    /// <summary>How each accepted connection's socket and pipes behave.</summary>
    public SocketTransportOptions Socket { get; set; } = new();

    /// <summary>The clock for every timeout. Defaults to <see cref="TimeProvider.System"/>; tests pass a fake.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the values once, at start, with a message that names the field.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Backlog < 1)
        {
            throw new ArgumentException($"{nameof(Backlog)} is {Backlog}; it must be at least 1.");
        }

        if (MaxQueuedConnections < 1)
        {
            throw new ArgumentException($"{nameof(MaxQueuedConnections)} is {MaxQueuedConnections}; it must be at least 1.");
        }

        ArgumentNullException.ThrowIfNull(Socket, nameof(Socket));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        Socket.Validate();
    }
}
