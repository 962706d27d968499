using System.Net;
using Broker.Transport.Connections;

namespace Broker.Transport.Tests.Support;

/// <summary>A listener on 127.0.0.1, port 0, and connections to it: real sockets, nothing faked.</summary>
internal static class Loopback
{
    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    public static TransportListener Listen(TransportListenerOptions? options = null) => TransportListener.Bind(AnyPort, options);

    /// <summary>Connects a client to <paramref name="listener"/> and returns both ends.</summary>
    public static async Task<(TransportConnection Client, TransportConnection Server)> ConnectAsync(
        TransportListener listener, TransportConnectorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var connector = new TransportConnector(options);
        var client = await connector.ConnectAsync(listener.LocalEndPoint, cancellationToken);
        var server = await listener.AcceptAsync(cancellationToken) ?? throw new InvalidOperationException("The listener closed.");
        return (client, server);
    }
}
