using System.Security.Authentication;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

public class MutualTlsTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Frames_cross_a_mutual_TLS_13_connection_and_each_side_sees_the_others_certificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var backend = pki.Backend();
        var frontend = pki.Frontend();
        await using var listener = Loopback.ListenTls(pki, credentials: backend);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, frontend), ct);
        await using var _ = client;
        await using var __ = server;

        await client.Output.WriteFrameAsync("plant-7/line-3/press-12/temperature"u8.ToArray(), ct);
        var reader = server.CreateFrameReader();
        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal("plant-7/line-3/press-12/temperature", Encoding.UTF8.GetString(reader.Current));

        Assert.True(client.Security.IsEncrypted);
        Assert.Equal(SslProtocols.Tls13, client.Security.Protocol);
        Assert.Equal(SslProtocols.Tls13, server.Security.Protocol);
        Assert.NotNull(client.Security.CipherSuite);
        Assert.Equal(backend.Certificate.Thumbprint, client.Security.PeerCertificate!.Certificate.Thumbprint);
        Assert.Contains("localhost", client.Security.PeerCertificate.DnsNames);
        Assert.Equal(frontend.Certificate.Thumbprint, server.Security.PeerCertificate!.Certificate.Thumbprint);
        Assert.Equal("CN=frontend", server.Security.PeerCertificate.Subject);
        Assert.Contains("frontend", server.Security.PeerCertificate.DnsNames);
        Assert.Equal(frontend.Certificate.NotAfter.ToUniversalTime(), server.Security.PeerCertificate.NotAfter.UtcDateTime);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_from_another_CA_is_refused_on_both_sides()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var stranger = TestPki.Create("Some Other CA");
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        // The frontend trusts the right root, but its own certificate comes from a CA the backend does not trust.
        var foreign = stranger.Frontend();
        var clientOptions = Loopback.TlsClient(pki, new Broker.Transport.Certificates.CertificateCredentials(foreign.Certificate, null, pki.Bundle));
        var clientError = await Record.ExceptionAsync(async () =>
        {
            await using var client = await new TransportConnector(clientOptions).ConnectAsync(listener.LocalEndPoint, ct);
            var result = await client.Input.ReadAsync(ct);
            Assert.Fail($"The refused client read: completed={result.IsCompleted} length={result.Buffer.Length}");
        });

        var serverSide = await refused.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(HandshakeFailureReason.UntrustedChain, serverSide.Error.Reason);
        Assert.Contains("does not chain to the internal trust bundle", serverSide.Error.Message);
        Assert.True(clientError is HandshakeException, clientError?.Message);
        var handshake = (HandshakeException)clientError!;
        Assert.Equal(HandshakeFailureReason.RejectedByPeer, handshake.Reason);
    }
}
