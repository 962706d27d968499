using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// The backend's TLS: checks the first byte is a TLS handshake record (else the peer is plaintext and is
/// told so with an alert), then runs a mutual TLS handshake with the credentials the source holds right
/// now, bounded by the handshake timeout.
/// </summary>
internal sealed class TlsServerSecurity : IServerSecurity
{
    // A fatal unexpected_message alert (RFC 8446, 6): what a TLS server says to bytes that are not TLS.
    private static readonly byte[] UnexpectedMessageAlert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a];

    // Fatal record_overflow and decode_error alerts (RFC 8446, 6.2): a record too long, a header that is not TLS's.
    private static readonly byte[] RecordOverflowAlert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x16];
    private static readonly byte[] DecodeErrorAlert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];

    // A TLS record header: content type, legacy version (2 bytes), length (2 bytes).
    private const int RecordHeaderSize = 5;
    private const int MaxPlaintextRecord = 16 * 1024;

    private readonly TlsSettings _options;
    private readonly PeerIdentityPolicy _identity;

    public TlsServerSecurity(TlsSettings settings, PeerIdentityPolicy identity)
    {
        _options = settings;
        _identity = identity;
    }

    public async ValueTask<SecuredPipe> AcceptAsync(Socket socket, CancellationToken cancellationToken)
    {
        var deadline = HandshakeDeadline.Start(_options.HandshakeTimeout, _options.TimeProvider, cancellationToken);
        var peer = socket.RemoteEndPoint?.ToString() ?? "?";
        var failure = new HandshakeFailure();
        SslStream? ssl = null;
        CertificateCredentials? held = null;
        try
        {
            socket.NoDelay = _options.Socket.NoDelay;
            await RequireTlsAsync(socket, peer, deadline.Token).ConfigureAwait(false);

            var transport = _options.OpenTransport(socket);
            ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            long version = 0;
            DateTimeOffset notAfter = default;
            await ssl.AuthenticateAsServerAsync(
                (stream, hello, state, ct) =>
                {
                    // Held until the handshake is over, so a rotation cannot dispose the leaf it is presenting.
                    var credentials = held = AcquireCredentials();
                    version = credentials.Version;
                    notAfter = credentials.NotAfter;
                    return ValueTask.FromResult(CreateOptions(credentials, failure));
                },
                null,
                deadline.Token).ConfigureAwait(false);

            var info = new ConnectionSecurityInfo(true, ssl.SslProtocol, ssl.NegotiatedCipherSuite, failure.Peer, version, notAfter);
            return new SecuredPipe(TlsPipe.Start(socket, ssl, transport, isClient: false, _options.Socket), info);
        }
        catch (Exception ex)
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }

            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested && !deadline.TimedOut)
            {
                throw;
            }

            throw failure.Sort(ex, "frontend", peer, deadline.TimedOut, _options.HandshakeTimeout);
        }
        finally
        {
            held?.Release();

            // Every operation that used the token has finished (each was awaited above).
            deadline.Return();
        }
    }

    private CertificateCredentials AcquireCredentials()
    {
        try
        {
            return CertificateCredentials.Acquire(_options.Certificates);
        }
        catch (CertificateUnavailableException ex)
        {
            throw new HandshakeException(HandshakeFailureReason.LocalCertificateUnavailable, $"The backend has no certificate to present: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Refuses a peer whose first byte cannot start a TLS handshake, telling it with an alert; and one whose first
    /// record header, when it arrived whole, announces more than a plaintext record may hold.
    /// </summary>
    private static async ValueTask RequireTlsAsync(Socket socket, string peer, CancellationToken cancellationToken)
    {
        var first = new byte[RecordHeaderSize];
        var received = await socket.ReceiveAsync(first, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
        if (received == 0)
        {
            throw new HandshakeException(HandshakeFailureReason.PeerClosed, $"The frontend at {peer} closed the connection before it sent a TLS ClientHello.");
        }

        if (first[0] != 0x16)
        {
            await SendAlertAndCloseAsync(socket, UnexpectedMessageAlert, cancellationToken).ConfigureAwait(false);
            throw new EncryptionMismatchException(
                HandshakeFailureReason.PlaintextPeer,
                $"The frontend at {peer} sent 0x{first[0]:x2}, which cannot start a TLS handshake: it is probably running with encryptInternalTraffic Disabled while this backend has it Enabled. The connection was closed; nothing was downgraded.");
        }

        // A ClientHello travels in plaintext records, which hold at most 2^14 bytes (RFC 8446, 5.1); SslStream would
        // otherwise wait for up to 64 KiB of a record that can never be valid, until the handshake timeout. The
        // header usually arrives whole with the rest of the ClientHello; when it does not, SslStream checks it.
        if (received == RecordHeaderSize)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(first.AsSpan(3));
            if (first[1] != 0x03 || length is 0 or > MaxPlaintextRecord)
            {
                await SendAlertAndCloseAsync(socket, length > MaxPlaintextRecord ? RecordOverflowAlert : DecodeErrorAlert, cancellationToken).ConfigureAwait(false);
                throw new HandshakeException(
                    HandshakeFailureReason.MalformedHandshake,
                    $"The frontend at {peer} sent a TLS record header announcing {length} bytes (version 0x{first[1]:x2}{first[2]:x2}); a handshake record holds 1 to {MaxPlaintextRecord}. The connection was dropped: a broken or hostile peer, not a configuration mismatch.");
            }
        }
    }

    private static async ValueTask SendAlertAndCloseAsync(Socket socket, byte[] alert, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(alert, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
    }

    private SslServerAuthenticationOptions CreateOptions(CertificateCredentials credentials, HandshakeFailure failure) => new()
    {
        ServerCertificateContext = credentials.Context,
        ClientCertificateRequired = true,
        EnabledSslProtocols = HandshakeFailure.Protocols(_options.AllowTls12),
        CipherSuitesPolicy = _options.CipherSuitesPolicy,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = HandshakeFailure.NothingTrusted,
        AllowRenegotiation = false,

        // SslStream's own verdict (errors) is set aside: the verifier judges the frontend against the trust bundle of now.
        RemoteCertificateValidationCallback = _options.VerifyPeer(failure, PeerRole.Frontend, _identity),
    };
}
