using System.Net;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Tests.Support;

/// <summary>A listener on 127.0.0.1, port 0, and connections to it: real sockets, nothing faked.</summary>
/// <remarks>
/// Unless a test passes its own options, connections get the default options except for
/// <see cref="SocketTransportOptions.CloseTimeout"/>, which is as long as the hang guard. The close timeout
/// runs on the wall clock, and on a loaded shared 2-core machine the default 5 s can pass before the pumps
/// of 200 connections get a thread; a graceful close then turns into an abort and the peer sees a reset
/// that has nothing to do with what the test checks.
/// </remarks>
internal static class Loopback
{
    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    /// <summary>The default socket options, with a close timeout as long as the hang guard.</summary>
    public static SocketTransportOptions Patient(int? maxBufferSize = null)
    {
        var options = new SocketTransportOptions { CloseTimeout = Guard.HangTimeout };
        if (maxBufferSize is { } size)
        {
            options.MaxInputBufferSize = size;
            options.MaxOutputBufferSize = size;
        }

        return options;
    }

    public static TransportListener Listen(TransportListenerOptions? options = null)
        => TransportListener.Bind(AnyPort, options ?? new TransportListenerOptions { Socket = Patient() });

    /// <summary>A connector with <see cref="Patient"/> socket options.</summary>
    public static TransportConnector Connector() => new(new TransportConnectorOptions { Socket = Patient() });

    /// <summary>Connects a client to <paramref name="listener"/> and returns both ends.</summary>
    public static async Task<(TransportConnection Client, TransportConnection Server)> ConnectAsync(
        TransportListener listener, TransportConnectorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var connector = options is null ? Connector() : new TransportConnector(options);
        var client = await connector.ConnectAsync(listener.LocalEndPoint, cancellationToken);
        var server = await listener.AcceptAsync(cancellationToken) ?? throw new InvalidOperationException("The listener closed.");
        return (client, server);
    }
}
