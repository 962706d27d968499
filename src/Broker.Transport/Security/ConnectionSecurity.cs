using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// The layer between the socket pipes and the application: it turns a connected <see cref="SocketPipe"/>
/// into the <see cref="TransportConnection"/> the application uses. The plaintext layer hands the socket
/// pipes through; the TLS layer wraps them. The listener and the connector know only this seam.
/// </summary>
internal abstract class ConnectionSecurity
{
    /// <summary>Secures an accepted connection (the backend's side). Throws when the peer must be refused.</summary>
    public abstract ValueTask<TransportConnection> AcceptAsync(SocketPipe transport, CancellationToken cancellationToken);

    /// <summary>Secures an outgoing connection (the frontend's side). Throws when the server must be refused.</summary>
    public abstract ValueTask<TransportConnection> ConnectAsync(SocketPipe transport, string targetHost, CancellationToken cancellationToken);
}

/// <summary>No encryption: the application reads and writes the socket pipes themselves.</summary>
internal sealed class PlaintextSecurity : ConnectionSecurity
{
    public static readonly PlaintextSecurity Instance = new();

    public override ValueTask<TransportConnection> AcceptAsync(SocketPipe transport, CancellationToken cancellationToken)
        => ValueTask.FromResult(new TransportConnection(transport, transport, layer: null));

    public override ValueTask<TransportConnection> ConnectAsync(SocketPipe transport, string targetHost, CancellationToken cancellationToken)
        => ValueTask.FromResult(new TransportConnection(transport, transport, layer: null));
}
