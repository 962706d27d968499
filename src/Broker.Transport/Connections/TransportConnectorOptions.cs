using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>Options for the frontend side: the connector.</summary>
public sealed class TransportConnectorOptions
{
    /// <summary>How long a TCP connect may take before it fails with <see cref="ConnectFailedException"/>. Defaults to 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How each connection's socket and pipes behave.</summary>
    public SocketTransportOptions Socket { get; set; } = new();

    /// <summary>The clock for every timeout. Defaults to <see cref="TimeProvider.System"/>; tests pass a fake.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks the values once, at start, with a message that names the field.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"{nameof(ConnectTimeout)} is {ConnectTimeout}; it must be positive (or Timeout.InfiniteTimeSpan).");
        }

        ArgumentNullException.ThrowIfNull(Socket, nameof(Socket));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        Socket.Validate();
    }
}
