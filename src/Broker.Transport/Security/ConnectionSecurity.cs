using System.Net.Sockets;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>What the security layer hands up: the pipes of a connection and what was negotiated on it.</summary>
/// <param name="Pipe">The connection's pipes (a socket pump, or a TLS pump over the socket).</param>
/// <param name="Info">The protocol, cipher suite and peer certificate; <see cref="ConnectionSecurityInfo.Plaintext"/> when Disabled.</param>
internal readonly record struct SecuredPipe(PipeConnection Pipe, ConnectionSecurityInfo Info);

/// <summary>
/// The backend's half of the layer between a socket and the application: it turns an accepted socket
/// into pipes and what was negotiated, or throws a <see cref="HandshakeException"/> when the peer must be
/// refused. The listener knows only this seam and builds the connection the application sees.
/// </summary>
internal interface IServerSecurity
{
    ValueTask<SecuredPipe> AcceptAsync(Socket socket, CancellationToken cancellationToken);
}

/// <summary>The frontend's half of the layer: turns a connected socket into pipes, or refuses the server.</summary>
internal interface IClientSecurity
{
    ValueTask<SecuredPipe> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken);
}

/// <summary>
/// No encryption (<see cref="EncryptInternalTraffic.Disabled"/>): the application reads and writes the socket
/// pipes themselves. The pipe shows this layer the first bytes it receives, so a TLS peer is named as such
/// instead of surfacing as garbage.
/// </summary>
internal sealed class PlaintextSecurity(SocketTransportOptions options) : IServerSecurity, IClientSecurity
{
    public ValueTask<SecuredPipe> AcceptAsync(Socket socket, CancellationToken cancellationToken) => Start(socket);

    public ValueTask<SecuredPipe> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken) => Start(socket);

    private ValueTask<SecuredPipe> Start(Socket socket)
        => ValueTask.FromResult(new SecuredPipe(SocketPipe.Start(socket, options, RefuseTlsPeer), ConnectionSecurityInfo.Plaintext));

    /// <summary>Refuses a peer whose first bytes are a TLS record (a ClientHello or an alert), naming the encryption mismatch.</summary>
    private static Exception? RefuseTlsPeer(ReadOnlySpan<byte> first, string remoteEndPoint)
        => TlsRecord.Describe(first) is { } record
            ? new EncryptionMismatchException(
                HandshakeFailureReason.TlsPeer,
                $"The peer at {remoteEndPoint} speaks TLS (it sent {record}) while this side runs with encryptInternalTraffic Disabled: the peer is probably running with encryptInternalTraffic Enabled. The connection was closed; nothing was downgraded.")
            : null;
}
