using System.Net.Security;
using System.Net.Sockets;
using Broker.Transport.Certificates;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// What the TLS layer needs of a listener's or connector's options, and nothing else: the layer is built by
/// the connection layer above it and never reads that layer's options.
/// </summary>
/// <param name="Certificates">The source asked for the local credentials and the trust bundle at every handshake.</param>
/// <param name="HandshakeTimeout">The bound on one handshake.</param>
/// <param name="AllowTls12">Whether TLS 1.2 is offered beside 1.3.</param>
/// <param name="TimeProvider">The clock of the handshake timeout and of the peer's validity.</param>
/// <param name="Socket">The socket options of the pipes the layer starts.</param>
/// <param name="CipherSuites">The suites the handshake may negotiate, in order; null for OpenSSL's own.</param>
internal sealed record TlsSettings(
    ICertificateSource Certificates,
    TimeSpan HandshakeTimeout,
    bool AllowTls12,
    TimeProvider TimeProvider,
    SocketTransportOptions Socket,
    IReadOnlyList<System.Net.Security.TlsCipherSuite>? CipherSuites)
{
    /// <summary>The cipher suite policy both handshakes pass to SslStream, made once (null: OpenSSL's own list).</summary>
    public CipherSuitesPolicy? CipherSuitesPolicy { get; } = TlsCipherSuites.Policy(CipherSuites);

    /// <summary>The stream the handshake and the pumps use beneath SslStream: reads gated, writes behind (see <see cref="WriteBehindStream"/>).</summary>
    public ReadGatedStream OpenTransport(Socket socket)
        => new(Socket.WriteBehind ? new WriteBehindStream(socket, Socket) : new NetworkStream(socket, ownsSocket: false));

    /// <summary>
    /// The callback both handshakes give SslStream: SslStream's own verdict (its errors, its DNS-only name check) is
    /// set aside, and the verifier judges the peer in <paramref name="role"/> against the trust bundle of now.
    /// </summary>
    public RemoteCertificateValidationCallback VerifyPeer(HandshakeFailure failure, PeerRole role, PeerIdentityPolicy policy)
        => (_, certificate, chain, _) => failure.Verify(certificate, chain, Certificates, role, policy, TimeProvider.GetUtcNow());
}
