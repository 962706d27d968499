using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Sockets;

namespace Broker.Transport.Tests.Support;

/// <summary>Listeners on 127.0.0.1, port 0, and connections to them: real sockets, nothing faked.</summary>
/// <remarks>
/// The plaintext helpers give connections the default socket options except for
/// <see cref="SocketTransportOptions.CloseTimeout"/>, which is as long as the hang guard (see
/// <see cref="Patient"/>), unless a test passes its own socket options.
/// </remarks>
internal static class Loopback
{
    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    /// <summary>
    /// The default socket options, with a close timeout as long as the hang guard. The close timeout runs on
    /// the wall clock, and on a loaded shared 2-core machine the default 5 s can pass before the pumps of
    /// 200 connections get a thread; a graceful close then turns into an abort and the peer sees a reset
    /// that has nothing to do with what the test checks.
    /// </summary>
    public static SocketTransportOptions Patient(int? maxBufferSize = null)
    {
        var options = new SocketTransportOptions { CloseTimeout = Guard.HangTimeout };
        if (maxBufferSize is { } size)
        {
            options.MaxInputBufferSize = size;
            options.MaxOutputBufferSize = size;
        }

        return options;
    }

    /// <summary>Plaintext listener options (encryption Disabled) with <paramref name="socket"/>, or <see cref="Patient"/> ones.</summary>
    public static TransportListenerOptions PlaintextServer(SocketTransportOptions? socket = null)
        => new() { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, Socket = socket ?? Patient() };

    /// <summary>A plaintext listener (encryption Disabled), unless <paramref name="options"/> says otherwise.</summary>
    public static TransportListener Listen(TransportListenerOptions? options = null)
        => TransportListener.Bind(AnyPort, options ?? PlaintextServer());

    /// <summary>A TLS listener with the PKI's backend credentials.</summary>
    public static TransportListener ListenTls(TestPki pki, Action<TransportListenerOptions>? configure = null, CertificateCredentials? credentials = null)
    {
        var options = new TransportListenerOptions { Certificates = new StaticCertificateSource(credentials ?? pki.Backend()) };
        configure?.Invoke(options);
        return TransportListener.Bind(AnyPort, options);
    }

    /// <summary>Plaintext connector options (encryption Disabled) with <paramref name="socket"/>, or <see cref="Patient"/> ones.</summary>
    public static TransportConnectorOptions PlaintextClient(SocketTransportOptions? socket = null)
        => new() { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, Socket = socket ?? Patient() };

    /// <summary>A plaintext connector with <see cref="Patient"/> socket options.</summary>
    public static TransportConnector Connector() => new(PlaintextClient());

    public static TransportConnectorOptions TlsClient(TestPki pki, CertificateCredentials? credentials = null, string? serverIdentity = "localhost")
        => new() { Certificates = new StaticCertificateSource(credentials ?? pki.Frontend()), ServerIdentity = serverIdentity };

    /// <summary>
    /// Connects a client to <paramref name="listener"/> and returns both ends (plaintext client unless options are
    /// given). Each wait is bounded by the hang guard: a backend that refused the frontend fails it, never hangs it.
    /// </summary>
    public static async Task<(TransportConnection Client, TransportConnection Server)> ConnectAsync(
        TransportListener listener, TransportConnectorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var connector = new TransportConnector(options ?? PlaintextClient());
        var client = await connector.ConnectAsync(listener.LocalEndPoint, cancellationToken).AsTask().Within("the frontend's connect", cancellationToken);
        try
        {
            var server = await listener.AcceptAsync(cancellationToken).AsTask().Within($"the backend to accept the connection (handshakes refused so far: {listener.HandshakesFailed})", cancellationToken)
                ?? throw new InvalidOperationException("The listener closed.");
            return (client, server);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}
