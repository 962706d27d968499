using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// The frontend's TLS: presents the source's current client certificate, verifies the backend's chain
/// against the trust bundle alone, requires the server-authentication EKU and checks the backend's
/// identity, all within the handshake timeout.
/// </summary>
internal sealed class TlsClientSecurity : IClientSecurity
{
    private readonly TlsSettings _options;
    private readonly PeerIdentity? _serverIdentity;

    /// <param name="settings">The layer's settings.</param>
    /// <param name="serverIdentity">The identity the backend must show, or null for the host connected to.</param>
    public TlsClientSecurity(TlsSettings settings, PeerIdentity? serverIdentity)
    {
        _options = settings;
        _serverIdentity = serverIdentity;
    }

    public async ValueTask<SecuredPipe> ConnectAsync(Socket socket, string targetHost, CancellationToken cancellationToken)
    {
        var deadline = HandshakeDeadline.Start(_options.HandshakeTimeout, _options.TimeProvider, cancellationToken);
        var peer = socket.RemoteEndPoint?.ToString() ?? targetHost;
        var expected = _serverIdentity ?? PeerIdentity.ForHost(targetHost);
        var failure = new HandshakeFailure();
        SslStream? ssl = null;
        CertificateCredentials? credentials = null;

        // Nagle off before the handshake, as the backend does: the client's Certificate, CertificateVerify
        // and Finished flights are small writes that Nagle would hold behind the delayed ACK.
        socket.NoDelay = _options.Socket.NoDelay;
        try
        {
            try
            {
                // Held until the handshake is over, so a rotation cannot dispose the leaf it is presenting.
                credentials = CertificateCredentials.Acquire(_options.Certificates);
            }
            catch (CertificateUnavailableException ex)
            {
                throw new HandshakeException(HandshakeFailureReason.LocalCertificateUnavailable, $"The frontend has no certificate to present: {ex.Message}", ex);
            }

            var transport = _options.OpenTransport(socket);
            ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(CreateOptions(credentials, expected, failure), deadline.Token).ConfigureAwait(false);
            var info = new ConnectionSecurityInfo(true, ssl.SslProtocol, ssl.NegotiatedCipherSuite, failure.Peer, credentials.Version, credentials.NotAfter);
            return new SecuredPipe(TlsPipe.Start(socket, ssl, transport, isClient: true, _options.Socket), info);
        }
        catch (Exception ex)
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }

            ResetOnClose(socket);
            if (ex is OperationCanceledException canceled && cancellationToken.IsCancellationRequested && !deadline.TimedOut)
            {
                // The caller's cancellation, reported with the caller's token rather than the internal linked one.
                throw canceled.CancellationToken == cancellationToken ? canceled : new OperationCanceledException(canceled.Message, canceled, cancellationToken);
            }

            throw failure.Sort(ex, "backend", peer, deadline.TimedOut, _options.HandshakeTimeout);
        }
        finally
        {
            credentials?.Release();

            // Every operation that used the token has finished (each was awaited above).
            deadline.Return();
        }
    }

    /// <summary>
    /// Makes the coming close a reset. When this side refuses the backend's certificate, the backend has
    /// usually finished its side of the handshake already (TLS 1.3, and .NET on Linux checks the server's
    /// certificate only after OpenSSL has sent the client's Finished), so it holds a connection it believes
    /// good. A quiet close would end that connection's input cleanly or with a reset depending on timing; a
    /// reset makes the backend fail every time: its handshake, or its first read.
    /// </summary>
    private static void ResetOnClose(Socket socket) => SocketReset.OnClose(socket);

    private SslClientAuthenticationOptions CreateOptions(CertificateCredentials credentials, PeerIdentity expected, HandshakeFailure failure)
    {
        var policy = PeerIdentityPolicy.ForBackend(expected);
        return new()
        {
            // SNI carries a host name only: for an IP or URI identity, send none (the verifier checks that SAN).
            TargetHost = expected.Kind == PeerIdentityKind.Dns ? expected.Text : string.Empty,
            ClientCertificateContext = credentials.Context,
            EnabledSslProtocols = HandshakeFailure.Protocols(_options.AllowTls12),
            CipherSuitesPolicy = _options.CipherSuitesPolicy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = HandshakeFailure.NothingTrusted,
            AllowRenegotiation = false,

            // SslStream's own verdict (errors, its DNS-only name check among them) is set aside: the verifier
            // judges the backend against the trust bundle of now.
            RemoteCertificateValidationCallback = _options.VerifyPeer(failure, PeerRole.Backend, policy),
        };
    }
}
