using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Tests.Support;

/// <summary>Listeners on 127.0.0.1, port 0, and connections to them: real sockets, nothing faked.</summary>
internal static class Loopback
{
    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    /// <summary>A plaintext listener (encryption Disabled), unless <paramref name="options"/> says otherwise.</summary>
    public static TransportListener Listen(TransportListenerOptions? options = null)
        => TransportListener.Bind(AnyPort, options ?? new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled });

    /// <summary>A TLS listener with the PKI's backend credentials.</summary>
    public static TransportListener ListenTls(TestPki pki, Action<TransportListenerOptions>? configure = null, CertificateCredentials? credentials = null)
    {
        var options = new TransportListenerOptions { Certificates = new StaticCertificateSource(credentials ?? pki.Backend()) };
        configure?.Invoke(options);
        return TransportListener.Bind(AnyPort, options);
    }

    public static TransportConnectorOptions PlaintextClient() => new() { EncryptInternalTraffic = EncryptInternalTraffic.Disabled };

    public static TransportConnectorOptions TlsClient(TestPki pki, CertificateCredentials? credentials = null, string? serverIdentity = "localhost")
        => new() { Certificates = new StaticCertificateSource(credentials ?? pki.Frontend()), ServerIdentity = serverIdentity };

    /// <summary>Connects a client to <paramref name="listener"/> and returns both ends (plaintext client unless options are given).</summary>
    public static async Task<(TransportConnection Client, TransportConnection Server)> ConnectAsync(
        TransportListener listener, TransportConnectorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var connector = new TransportConnector(options ?? PlaintextClient());
        var client = await connector.ConnectAsync(listener.LocalEndPoint, cancellationToken);
        var server = await listener.AcceptAsync(cancellationToken) ?? throw new InvalidOperationException("The listener closed.");
        return (client, server);
    }
}
