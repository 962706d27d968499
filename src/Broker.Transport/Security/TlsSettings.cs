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
    IReadOnlyList<System.Net.Security.TlsCipherSuite>? CipherSuites);
