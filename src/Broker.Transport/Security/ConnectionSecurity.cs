using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// The backend's half of the layer between a socket and the application: it turns an accepted socket
/// into the <see cref="TransportConnection"/> the application uses, or throws a
/// <see cref="HandshakeException"/> when the peer must be refused. The listener knows only this seam.
/// </summary>
internal interface IServerSecurity
{
    ValueTask<TransportConnection> AcceptAsync(Socket socket, CancellationToken cancellationToken);
}

/// <summary>The frontend's half of the layer: turns a connected socket into a connection, or refuses the server.</summary>
internal interface IClientSecurity
{
    ValueTask<TransportConnection> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken);
}

/// <summary>
/// No encryption (<see cref="EncryptInternalTraffic.Disabled"/>): the application reads and writes the socket
/// pipes themselves. The pipe watches the first bytes it receives, so a TLS peer is named as such instead
/// of surfacing as garbage.
/// </summary>
internal sealed class PlaintextSecurity(SocketTransportOptions options) : IServerSecurity, IClientSecurity
{
    public ValueTask<TransportConnection> AcceptAsync(Socket socket, CancellationToken cancellationToken)
        => ValueTask.FromResult(new TransportConnection(SocketPipe.Start(socket, options, detectTlsPeer: true), ConnectionSecurityInfo.Plaintext));

    public ValueTask<TransportConnection> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken)
        => ValueTask.FromResult(new TransportConnection(SocketPipe.Start(socket, options, detectTlsPeer: true), ConnectionSecurityInfo.Plaintext));
}
