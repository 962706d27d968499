using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A bare <see cref="SslStream"/> client, for peers our connector refuses to be: one without a client
/// certificate, or one that speaks only TLS 1.2. It checks the server against the test's root, nothing else.
/// </summary>
internal sealed class RawTls : IAsyncDisposable
{
    private readonly Socket _socket;

    private RawTls(Socket socket, SslStream stream)
    {
        _socket = socket;
        Stream = stream;
    }

    public SslStream Stream { get; }

    /// <summary>Connects a socket to <paramref name="endpoint"/>; the handshake is <see cref="AuthenticateAsync"/>.</summary>
    public static async Task<RawTls> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint, cancellationToken);
        return new RawTls(socket, new SslStream(new NetworkStream(socket, ownsSocket: true)));
    }

    public Task AuthenticateAsync(TestPki pki, SslProtocols protocols, X509Certificate2? clientCertificate, CancellationToken cancellationToken)
    {
        var trust = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        trust.CustomTrustStore.AddRange(pki.Bundle);
        return Stream.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocols,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = trust,
            },
            cancellationToken);
    }

    /// <summary>Ends the TCP stream (FIN) with no TLS close_notify before it: what a crashed peer or an injected FIN does.</summary>
    public void SendFinWithoutCloseNotify() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes as TLS asks: close_notify, then FIN.</summary>
    public async Task CloseProperlyAsync()
    {
        await Stream.ShutdownAsync();
        _socket.Shutdown(SocketShutdown.Send);
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        _socket.Dispose();
    }
}
