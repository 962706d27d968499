using System.Net.Security;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>The <c>CipherSuites</c> option of the listener and the connector: what it negotiates, refuses and accepts.</summary>
public sealed class CipherSuiteTests
{
    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(TlsCipherSuite.TLS_AES_128_GCM_SHA256)]
    [InlineData(TlsCipherSuite.TLS_AES_256_GCM_SHA384)]
    [InlineData(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256)]
    public async Task Both_sides_negotiate_the_suite_the_option_names_and_frames_cross(TlsCipherSuite suite)
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.CipherSuites = [suite]);
        var client = Loopback.TlsClient(pki);
        client.CipherSuites = [suite];

        await using var link = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(suite, link.Client.Security.CipherSuite);
        Assert.Equal(suite, link.Server.Security.CipherSuite);
        await link.PingAsync(suite.ToString(), ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_first_suite_of_a_list_both_sides_share_is_negotiated()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        TlsCipherSuite[] chachaFirst = [TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384];
        await using var listener = Loopback.ListenTls(pki, o => o.CipherSuites = chachaFirst);
        var client = Loopback.TlsClient(pki);
        client.CipherSuites = chachaFirst;

        await using var link = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, link.Server.Security.CipherSuite);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Sides_that_share_no_suite_fail_the_handshake_saying_so_on_both()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.CipherSuites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256]);
        var refused = listener.NextFailure();
        var client = Loopback.TlsClient(pki);
        client.CipherSuites = [TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

        var clientError = await Refusals.ConnectExpectingFailureAsync(client, listener.LocalEndPoint);

        await refused.AssertRefusedAsync(HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite");
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "or they share no cipher suite (CipherSuites)");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task By_default_both_sides_negotiate_AES_256_GCM_as_OpenSSL_orders_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        Assert.Null(new TransportListenerOptions().CipherSuites);
        Assert.Null(new TransportConnectorOptions().CipherSuites);

        await using var link = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, link.Client.Security.CipherSuite);
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, link.Server.Security.CipherSuite);
    }

    [Fact]
    public void A_TLS_12_suite_without_AllowTls12_an_empty_list_and_a_repeated_suite_are_refused_at_start_naming_the_field()
    {
        var pki = TestPki.Create();
        var tls12 = Assert.Throws<ArgumentException>(() => Loopback.ListenTls(pki, o => o.CipherSuites = [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]));
        Assert.Contains("CipherSuites holds TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, which is not a TLS 1.3 suite", tls12.Message, StringComparison.Ordinal);

        var empty = new TransportConnectorOptions { Certificates = new Broker.Transport.Certificates.StaticCertificateSource(pki.Frontend()), CipherSuites = [] };
        Assert.Contains("CipherSuites is empty", Assert.Throws<ArgumentException>(empty.Validate).Message, StringComparison.Ordinal);

        var twice = new TransportConnectorOptions { Certificates = empty.Certificates, CipherSuites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256] };
        Assert.Contains("CipherSuites names a suite twice", Assert.Throws<ArgumentException>(twice.Validate).Message, StringComparison.Ordinal);

        // With TLS 1.2 allowed, its suites may be named too.
        new TransportConnectorOptions { Certificates = empty.Certificates, AllowTls12 = true, CipherSuites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] }.Validate();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task With_the_option_set_no_handshake_resumes_as_its_documentation_says()
    {
        // .NET keeps no TLS context (and so no session cache) for a handshake with a CipherSuitesPolicy: the
        // client offers no ticket. The control that the relay does see resumptions is in TlsResumptionTests.
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.CipherSuites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256]);
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = Loopback.TlsClient(pki);
        client.CipherSuites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256];
        for (var i = 0; i < 3; i++)
        {
            await using var link = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
            Assert.Equal(new HandshakeSeen(false, false), await relay.NextAsync(ct));
            await link.PingAsync("ticket", ct);
        }
    }
}
