using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Sockets;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Mutual TLS over 127.0.0.1: this transport with <see cref="EncryptInternalTraffic.Enabled"/>, and the plain
/// <see cref="SslStream"/> pair a .NET developer would write by hand, both on leaves from one
/// <see cref="InternalIssuer"/> so they negotiate the same TLS 1.3 suite with the same keys.
/// </summary>
internal static class TlsLoopback
{
    /// <summary>The identity the backend's leaf carries (the issuer's default backend names include it).</summary>
    public const string ServerIdentity = "localhost";

    /// <summary>
    /// A wildcard the backend's leaf carries too, so each connect can name the backend differently: .NET
    /// keeps the client's TLS session tickets per target host, so a name never used before forces a full
    /// handshake, and the same name again resumes (the <c>handshakes</c> probe shows both on the wire).
    /// </summary>
    public const string WildcardIdentity = "*.backend.test";

    private static long s_names;

    /// <summary>An issuer whose leaves use <paramref name="algorithm"/>, a day long, a new key at every renewal.</summary>
    /// <remarks>
    /// The root lives three days, not the default year: a benchmark needs no longer, and an issuer that arms
    /// its timers for the whole wait (as before tests-rotation's 7a98e7b) cannot start with the defaults,
    /// since System.Threading.Timer refuses due times above 49.7 days.
    /// </remarks>
    public static InternalIssuer StartIssuer(PrivateKeyAlgorithm algorithm = PrivateKeyAlgorithm.Ec256)
        => InternalIssuer.Start(new InternalIssuerOptions
        {
            Policy = new InternalCertsConfig(TimeSpan.FromHours(24), null, algorithm, RotationPolicy.Always),
            CaDuration = TimeSpan.FromHours(72),
            BackendNames = { WildcardIdentity },
        });

    /// <summary>A backend name no connect in this process used before, matched by <see cref="WildcardIdentity"/>.</summary>
    public static string FreshName() => $"c{Interlocked.Increment(ref s_names)}.backend.test";

    /// <summary>
    /// Static sources on one key of <paramref name="algorithm"/> for a root and both leaves (the backend's
    /// for <see cref="ServerIdentity"/> and <see cref="WildcardIdentity"/>, the frontend's for <c>frontend</c>).
    /// A handshake signs and verifies exactly as with three keys of that algorithm, but making the PKI costs
    /// one key generation instead of three: seconds for RSA-4096 on a loaded machine, half a minute for RSA-8192.
    /// </summary>
    public static (StaticCertificateSource Backend, StaticCertificateSource Frontend) SharedKeyPki(PrivateKeyAlgorithm algorithm)
    {
        using var key = CertificateIssuance.CreateKey(algorithm);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var root = CertificateIssuance.CreateRoot("Broker.Transport Benchmark CA", key, now, now.AddDays(2));
        var bundle = new X509Certificate2Collection(root);
        var backend = CertificateIssuance.IssueLeaf(root, key, new LeafSpec("backend", now, now.AddDays(1))
        {
            DnsNames = [ServerIdentity, WildcardIdentity],
            ClientAuthentication = false,
        });
        var frontend = CertificateIssuance.IssueLeaf(root, key, new LeafSpec("frontend", now, now.AddDays(1))
        {
            DnsNames = ["frontend"],
            ServerAuthentication = false,
        });
        return (new StaticCertificateSource(new CertificateCredentials(backend, null, bundle)), new StaticCertificateSource(new CertificateCredentials(frontend, null, bundle)));
    }

    /// <summary>An encrypted listener on 127.0.0.1, port 0, presenting <paramref name="backend"/>'s certificate (on <paramref name="cipherSuites"/>, if given).</summary>
    public static TransportListener Listen(ICertificateSource backend, IReadOnlyList<TlsCipherSuite>? cipherSuites = null)
        => TransportListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new TransportListenerOptions { Certificates = backend, CipherSuites = cipherSuites });

    /// <summary>An encrypted connector presenting <paramref name="frontend"/>'s certificate and expecting <paramref name="identity"/> (on <paramref name="cipherSuites"/>, if given).</summary>
    public static TransportConnector Connector(ICertificateSource frontend, string identity = ServerIdentity, IReadOnlyList<TlsCipherSuite>? cipherSuites = null)
        => new(new TransportConnectorOptions { Certificates = frontend, ServerIdentity = identity, CipherSuites = cipherSuites });

    /// <summary>A connector's encrypted connection and the listener's matching one, every other option at its default.</summary>
    public static async Task<(TransportListener Listener, TransportConnection Client, TransportConnection Server)> ConnectTransportAsync(InternalIssuer issuer, IReadOnlyList<TlsCipherSuite>? cipherSuites = null, bool writeBehind = true)
    {
        var listener = TransportListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new TransportListenerOptions { Certificates = issuer.Backend, CipherSuites = cipherSuites, Socket = new SocketTransportOptions { WriteBehind = writeBehind } });
        var client = await new TransportConnector(new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = ServerIdentity, CipherSuites = cipherSuites, Socket = new SocketTransportOptions { WriteBehind = writeBehind } })
            .ConnectAsync(listener.LocalEndPoint);
        var server = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed before it accepted.");
        return (listener, client, server);
    }

    /// <summary>
    /// Connects and accepts one connection, then aborts both ends: a graceful close would leave the port in
    /// TIME_WAIT, and BenchmarkDotNet's thousands of connects would run out of ephemeral ports.
    /// </summary>
    public static async Task ConnectAndAbortAsync(TransportConnector connector, TransportListener listener)
    {
        var client = await connector.ConnectAsync(listener.LocalEndPoint);
        var server = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed.");
        client.Abort("benchmark teardown");
        server.Abort("benchmark teardown");
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    /// <summary>
    /// The hand-written baseline: an <see cref="SslStream"/> over a <see cref="NetworkStream"/> at each end of
    /// a socket pair, mutual TLS 1.3 on the issuer's current leaves, trusting the issuer's root alone. The
    /// streams own their sockets.
    /// </summary>
    public static Task<(SslStream Client, SslStream Server)> ConnectSslStreamsAsync(InternalIssuer issuer)
        => ConnectSslStreamsAsync(issuer.Backend.GetCurrent(), issuer.Frontend.GetCurrent(), ServerIdentity);

    /// <summary>The same on any credentials, the client naming the backend <paramref name="targetHost"/>.</summary>
    public static Task<(SslStream Client, SslStream Server)> ConnectSslStreamsAsync(CertificateCredentials backend, CertificateCredentials frontend, string targetHost)
        => ConnectSslStreamsAsync(backend, frontend, targetHost, socket => new NetworkStream(socket, ownsSocket: true));

    /// <summary>
    /// The same with each SslStream on the stream <paramref name="under"/> makes of its socket: a
    /// <see cref="NetworkStream"/>, or the plaintext layer's pipes (<see cref="PipeStream"/>, TLS stacked on them).
    /// </summary>
    public static async Task<(SslStream Client, SslStream Server)> ConnectSslStreamsAsync(CertificateCredentials backend, CertificateCredentials frontend, string targetHost, Func<Socket, Stream> under)
    {
        var (clientSocket, serverSocket) = await LoopbackPairs.ConnectSocketsAsync();
        var client = new SslStream(under(clientSocket));
        var server = new SslStream(under(serverSocket));
        var trust = TrustOnly(backend.TrustBundle);
        var accepting = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = backend.Certificate,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateChainPolicy = trust,
        });
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificates = [frontend.Certificate],
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateChainPolicy = trust,
        });
        await accepting;
        return (client, server);
    }

    /// <summary>Reads the stream until the peer ends it, counting bytes; one buffer, as the baselines' receiver.</summary>
    public static async Task DrainStreamAsync(Stream stream, ReceiveProgress progress, int bufferSize)
    {
        var buffer = new byte[bufferSize];
        try
        {
            while (true)
            {
                var received = await stream.ReadAsync(buffer.AsMemory());
                if (received == 0)
                {
                    return;
                }

                progress.Add(received);
            }
        }
        catch (Exception ex)
        {
            progress.Fail(ex);
            throw;
        }
    }

    /// <summary>Ends a baseline stream as a well-behaved sender does: close_notify, then FIN, then dispose once the receiver saw the end.</summary>
    public static async Task CloseAsync(SslStream? client, Task receiver, SslStream? server)
    {
        if (client is not null)
        {
            await client.ShutdownAsync();
            await receiver;
            await client.DisposeAsync();
        }

        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>Completes the client's output, waits for the receiver to see the end, then disposes everything.</summary>
    public static async Task CloseAsync(TransportConnection? client, Task receiver, TransportConnection? server, TransportListener? listener)
    {
        if (client is not null)
        {
            await client.Output.CompleteAsync();
            await receiver;
            await client.DisposeAsync();
        }

        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (listener is not null)
        {
            await listener.DisposeAsync();
        }
    }

    private static X509ChainPolicy TrustOnly(X509Certificate2Collection roots)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}
