using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>Who the peer is: the backend's identity the frontend expects, and the frontends the backend allows.</summary>
public class IdentityTests
{
    private const string BackendId = "spiffe://cluster.local/ns/broker/sa/backend";
    private const string FrontendId = "spiffe://cluster.local/ns/broker/sa/frontend";

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task SPIFFE_URI_identities_work_as_ServerIdentity_and_in_AllowedClientIdentities()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();

        // URI SANs only: nothing a DNS or IP check could match instead.
        var backend = pki.Backend(s => s with { DnsNames = [], IPAddresses = [], Uris = [BackendId] });
        var frontend = pki.Frontend(s => s with { DnsNames = [], IPAddresses = [], Uris = [FrontendId] });
        await using var listener = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add(FrontendId), backend);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, frontend, serverIdentity: BackendId), ct);
        await using var _ = client;
        await using var __ = server;

        await client.Output.WriteFrameAsync("from the frontend"u8.ToArray(), ct);
        await server.Output.WriteFrameAsync("from the backend"u8.ToArray(), ct);
        var atServer = server.CreateFrameReader();
        var atClient = client.CreateFrameReader();
        Assert.True(await atServer.ReadFrameAsync(ct));
        Assert.Equal("from the frontend", Encoding.UTF8.GetString(atServer.Current));
        Assert.True(await atClient.ReadFrameAsync(ct));
        Assert.Equal("from the backend", Encoding.UTF8.GetString(atClient.Current));

        Assert.Equal([BackendId], client.Security.PeerCertificate!.Uris);
        Assert.Empty(client.Security.PeerCertificate.DnsNames);
        Assert.Equal([FrontendId], server.Security.PeerCertificate!.Uris);
        Assert.Equal(0, listener.HandshakesFailed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_without_the_expected_SPIFFE_identity_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, credentials: pki.Backend(s => s with { Uris = [BackendId] }));
        var refused = listener.NextFailure();

        const string other = "spiffe://cluster.local/ns/broker/sa/other-backend";
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, serverIdentity: other), listener.LocalEndPoint);

        var error = Refusals.AssertHandshake(clientError, HandshakeFailureReason.IdentityNotAllowed, $"does not carry the expected identity '{other}'");
        Assert.Contains($"URI:{BackendId}", error.Message, StringComparison.Ordinal);
        await listener.AssertBackendDroppedAsync(refused);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_whose_SPIFFE_identity_is_not_allowed_is_refused()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add("spiffe://cluster.local/ns/broker/sa/trusted-frontend"));
        var refused = listener.NextFailure();

        var frontend = pki.Frontend(s => s with { Uris = [FrontendId] });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, frontend), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (spiffe://cluster.local/ns/broker/sa/trusted-frontend)");
        Assert.Contains($"URI:{FrontendId}", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_whose_certificate_lacks_the_ServerIdentity_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, serverIdentity: "backend.broker.svc"), listener.LocalEndPoint);

        var error = Refusals.AssertHandshake(clientError, HandshakeFailureReason.IdentityNotAllowed, "does not carry the expected identity 'backend.broker.svc' (ServerIdentity");
        Assert.Contains("CN=backend [DNS:localhost, IP:127.0.0.1]", error.Message, StringComparison.Ordinal);
        await listener.AssertBackendDroppedAsync(refused);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Without_a_ServerIdentity_the_frontend_expects_the_address_it_connected_to()
    {
        var pki = TestPki.Create();

        // The certificate names localhost but not 127.0.0.1, the address connected to.
        await using var listener = Loopback.ListenTls(pki, credentials: pki.Backend(s => s with { IPAddresses = [] }));
        var refused = listener.NextFailure();

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, serverIdentity: null), listener.LocalEndPoint);

        Refusals.AssertHandshake(clientError, HandshakeFailureReason.IdentityNotAllowed, "does not carry the expected identity '127.0.0.1'");
        await listener.AssertBackendDroppedAsync(refused);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Without_a_ServerIdentity_an_IP_SAN_for_the_address_connected_to_is_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();

        // The certificate carries IP:127.0.0.1 and no DNS name: the frontend must match the IP SAN itself.
        await using var listener = Loopback.ListenTls(pki, credentials: pki.Backend(s => s with { DnsNames = [] }));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, serverIdentity: null), ct);
        await using var _ = client;
        await using var __ = server;

        Assert.Equal([System.Net.IPAddress.Loopback], client.Security.PeerCertificate!.IPAddresses);
        Assert.Empty(client.Security.PeerCertificate.DnsNames);
        Assert.Contains("IP:127.0.0.1", client.Security.PeerCertificate.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_missing_from_AllowedClientIdentities_is_refused()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.AllowedClientIdentities.Add("frontend-a");
            o.AllowedClientIdentities.Add("frontend-b");
        });
        var refused = listener.NextFailure();

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (frontend-a, frontend-b)");
        Assert.Contains("CN=frontend [DNS:frontend, IP:127.0.0.1]", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_wildcard_client_certificate_never_satisfies_an_allowed_identity()
    {
        // An allow-list names exact identities: a frontend whose only name is *.broker.svc is not frontend.broker.svc.
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add("frontend.broker.svc"));
        var refused = listener.NextFailure();
        var wildcard = pki.Frontend(s => s with { DnsNames = ["*.broker.svc"], IPAddresses = [] });

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, wildcard), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (frontend.broker.svc)");
        Assert.Contains("CN=frontend [DNS:*.broker.svc]", error.Message, StringComparison.Ordinal);
        Assert.Contains("a wildcard name never satisfies one", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");

        // The same certificate, allowed by its own exact name, is accepted: the refusal above was the wildcard rule.
        var ct = TestContext.Current.CancellationToken;
        await using var literal = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add("x.broker.svc"));
        var exact = pki.Frontend(s => s with { DnsNames = ["x.broker.svc"], IPAddresses = [] });
        var (client, server) = await Loopback.ConnectAsync(literal, Loopback.TlsClient(pki, exact), ct);
        await using var _ = client;
        await using var __ = server;
        Assert.Equal(["x.broker.svc"], server.Security.PeerCertificate!.DnsNames);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_wildcard_name_matches_one_label_of_the_ServerIdentity_as_TLS_clients_match_servers()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, credentials: pki.Backend(s => s with { DnsNames = ["*.broker.svc"], IPAddresses = [] }));

        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, serverIdentity: "backend.broker.svc"), ct);
        await using (client)
        await using (server)
        {
            Assert.Equal(["*.broker.svc"], client.Security.PeerCertificate!.DnsNames);
        }

        // One label only (RFC 6125, 6.4.3): two labels deep is not covered.
        var refused = listener.NextFailure();
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, serverIdentity: "a.backend.broker.svc"), listener.LocalEndPoint);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.IdentityNotAllowed, "does not carry the expected identity 'a.backend.broker.svc'");
        await listener.AssertBackendDroppedAsync(refused);
    }

    [Theory]
    [InlineData("127.1", "127.0.0.1")]
    [InlineData("0x7f000001", "127.0.0.1")]
    [InlineData("0:0:0:0:0:0:0:1", "::1")]
    public void An_identity_written_as_a_lenient_IP_address_is_refused_at_start_naming_the_canonical_form(string lenient, string canonical)
    {
        // IPAddress.TryParse reads "127.1" as 127.0.0.1: an allow-list entry so written matched a client with IP SAN 127.0.0.1.
        var pki = TestPki.Create();
        var listen = Assert.Throws<ArgumentException>(() => Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add(lenient)));
        Assert.Equal($"AllowedClientIdentities entry ('{lenient}') reads as the IP address {canonical} but is not written in canonical form; write {canonical}. Identities match exactly.", listen.Message);

        var connect = Assert.Throws<ArgumentException>(() => new TransportConnector(Loopback.TlsClient(pki, serverIdentity: lenient)));
        Assert.Equal($"ServerIdentity ('{lenient}') reads as the IP address {canonical} but is not written in canonical form; write {canonical}. Identities match exactly.", connect.Message);
    }

    [Theory]
    [InlineData("*.broker.svc", "holds a wildcard")]
    [InlineData("", "is empty")]
    [InlineData("front end", "holds a space or a control character")]
    public void An_allowed_identity_that_names_no_exact_peer_is_refused_at_start(string entry, string problem)
    {
        var pki = TestPki.Create();
        var error = Assert.Throws<ArgumentException>(() => Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add(entry)));
        Assert.StartsWith("AllowedClientIdentities entry ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_IP_address_entry_matches_only_an_IP_SAN_and_a_DNS_entry_only_a_DNS_SAN()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add("127.0.0.1"));

        // IP SAN 127.0.0.1: allowed.
        var byAddress = pki.Frontend(s => s with { DnsNames = ["frontend"] });
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, byAddress), ct);
        await using (client)
        await using (server)
        {
            Assert.Equal([System.Net.IPAddress.Loopback], server.Security.PeerCertificate!.IPAddresses);
        }

        // The same text as a DNS name, and no IP SAN: not the same identity.
        var refused = listener.NextFailure();
        var byName = pki.Frontend(s => s with { DnsNames = ["127.0.0.1"], IPAddresses = [] });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, byName), listener.LocalEndPoint);
        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (127.0.0.1)");
        Assert.Contains("[DNS:127.0.0.1]", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
    }

    [Fact]
    public void PeerCertificateInfo_Matches_is_the_allow_list_rule()
    {
        var pki = TestPki.Create();
        var info = PeerCertificateInfo.From(pki.Frontend(s => s with { DnsNames = ["Frontend.Broker.Svc", "*.frontends.broker.svc"], Uris = ["spiffe://cluster.local/ns/broker/sa/frontend"] }).Certificate);

        Assert.True(info.Matches("frontend.broker.svc"));
        Assert.True(info.Matches("127.0.0.1"));
        Assert.True(info.Matches("spiffe://cluster.local/ns/broker/sa/frontend"));
        Assert.False(info.Matches("frontend-0.frontends.broker.svc"));
        Assert.False(info.Matches("127.1"));
        Assert.False(info.Matches("spiffe://cluster.local/ns/broker/sa/Frontend"));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_the_AuthorizeClient_callback_refuses_is_refused_after_the_callback_saw_its_identity()
    {
        var pki = TestPki.Create();
        var seen = new List<PeerCertificateInfo>();
        await using var listener = Loopback.ListenTls(pki, o => o.AuthorizeClient = peer =>
        {
            lock (seen)
            {
                seen.Add(peer);
            }

            return false;
        });
        var refused = listener.NextFailure();

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), listener.LocalEndPoint);

        await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "CN=frontend [DNS:frontend, IP:127.0.0.1] was refused by the AuthorizeClient callback");
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
        var peer = Assert.Single(seen);
        Assert.Equal(["frontend"], peer.DnsNames);
        Assert.Equal(1, listener.HandshakesFailed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task AuthorizeClient_runs_only_for_frontends_AllowedClientIdentities_let_through()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var calls = 0;
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.AllowedClientIdentities.Add("frontend");
            o.AuthorizeClient = peer =>
            {
                Interlocked.Increment(ref calls);
                return peer.Matches("frontend");
            };
        });

        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using var _ = client;
        await using var __ = server;
        Assert.Equal(1, Volatile.Read(ref calls));

        var refused = listener.NextFailure();
        var stranger = pki.Frontend(s => s with { DnsNames = ["intruder"] });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, stranger), listener.LocalEndPoint);
        await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (frontend)");
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
        Assert.Equal(1, Volatile.Read(ref calls));
    }
}
