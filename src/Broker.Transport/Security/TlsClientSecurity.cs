using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Security;

/// <summary>
/// The frontend's TLS: presents the source's current client certificate, verifies the backend's chain
/// against the trust bundle alone, requires the server-authentication EKU and checks the backend's
/// identity, all within the handshake timeout.
/// </summary>
internal sealed class TlsClientSecurity : IClientSecurity
{
    private readonly TransportConnectorOptions _options;

    public TlsClientSecurity(TransportConnectorOptions options) => _options = options;

    public async ValueTask<TransportConnection> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var peer = socket.RemoteEndPoint?.ToString() ?? targetHost;
        var expected = _options.ServerIdentity ?? targetHost;
        var failure = new HandshakeFailure();
        SslStream? ssl = null;

        // Nagle off before the handshake, as the backend does: the client's Certificate, CertificateVerify
        // and Finished flights are small writes that Nagle would hold behind the delayed ACK.
        socket.NoDelay = _options.Socket.NoDelay;
        try
        {
            CertificateCredentials credentials;
            try
            {
                credentials = _options.Certificates!.GetCurrent();
            }
            catch (CertificateUnavailableException ex)
            {
                throw new HandshakeException(HandshakeFailureReason.LocalCertificateUnavailable, $"The frontend has no certificate to present: {ex.Message}", ex);
            }

            var transport = new ReadGatedStream(new NetworkStream(socket, ownsSocket: false));
            ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(CreateOptions(credentials, expected, failure), linked.Token).ConfigureAwait(false);
            var info = new ConnectionSecurityInfo(true, ssl.SslProtocol, ssl.NegotiatedCipherSuite, failure.Peer, credentials.Version);
            return new TransportConnection(TlsPipe.Start(socket, ssl, transport, isClient: true, _options.Socket), info);
        }
        catch (Exception ex)
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }

            ResetOnClose(socket);
            if (ex is OperationCanceledException canceled && cancellationToken.IsCancellationRequested && !timeout.IsCancellationRequested)
            {
                // The caller's cancellation, reported with the caller's token rather than the internal linked one.
                throw canceled.CancellationToken == cancellationToken ? canceled : new OperationCanceledException(canceled.Message, canceled, cancellationToken);
            }

            throw failure.Sort(ex, "backend", peer, timeout.IsCancellationRequested, _options.HandshakeTimeout);
        }
    }

    /// <summary>
    /// Makes the coming close a reset. When this side refuses the backend's certificate, the backend has
    /// usually finished its side of the handshake already (TLS 1.3, and .NET on Linux checks the server's
    /// certificate only after OpenSSL has sent the client's Finished), so it holds a connection it believes
    /// good. A quiet close would end that connection's input cleanly or with a reset depending on timing; a
    /// reset makes the backend fail every time: its handshake, or its first read.
    /// </summary>
    private static void ResetOnClose(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private SslClientAuthenticationOptions CreateOptions(CertificateCredentials credentials, string expected, HandshakeFailure failure) => new()
    {
        // SNI carries a host name only: for a URI identity, send none and check the URI SAN below.
        TargetHost = expected.Contains("://", StringComparison.Ordinal) || IPAddress.TryParse(expected, out _) ? string.Empty : expected,
        ClientCertificateContext = credentials.Context,
        EnabledSslProtocols = HandshakeFailure.Protocols(_options.AllowTls12),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = credentials.ClientPolicy,
        AllowRenegotiation = false,
        RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            if (certificate is null)
            {
                return failure.Record(HandshakeFailureReason.NoCertificate, "The backend presented no certificate.");
            }

            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

            // The name is checked below (DNS, IP or URI SAN), so SslStream's DNS-only name check is set aside.
            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
            if (!failure.CheckChain("backend", _options.Certificates!, credentials, leaf, chain, errors, peerIsServer: true, "server authentication, 1.3.6.1.5.5.7.3.1"))
            {
                return false;
            }

            var identity = PeerCertificateInfo.From(leaf);
            failure.Peer = identity;
            return identity.Matches(expected)
                || failure.Record(HandshakeFailureReason.IdentityNotAllowed, $"The backend's certificate {identity} does not carry the expected identity '{expected}' (ServerIdentity, or the host connected to).");
        },
    };
}
