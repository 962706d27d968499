using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// TLS 1.3 session resumption across rotations, seen on the wire: a relay reads the clear ClientHello and
/// ServerHello (pre_shared_key, RFC 8446 4.2.11). .NET on Linux resumes sessions (the client keeps a ticket
/// per target host in an SSL_CTX keyed by its own certificate; the server's SSL_CTX is keyed by its
/// certificate). A resumed session carries the peer certificate of the session it resumes, so a rotation
/// must never be followed by a resumption of a session from before it.
/// </summary>
public sealed class TlsResumptionTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Without_rotation_the_next_handshake_resumes_and_both_sides_still_see_the_peers_certificate()
    {
        // The control: the relay does see resumptions, so the tests below that see none mean it.
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = "localhost" };

        await using var first = await ConnectAsync(listener, client, relay, ct);
        Assert.Equal(new HandshakeSeen(false, false), first.Seen);
        await using var second = await ConnectAsync(listener, client, relay, ct);
        Assert.Equal(new HandshakeSeen(true, true), second.Seen);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, second.Link.BackendSeenByClient);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, second.Link.FrontendSeenByServer);
        await second.Link.PingAsync("resumed", ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_RenewNow_and_RollOverRootNow_the_next_handshake_is_full_and_presents_the_new_leaves()
    {
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = "localhost" };
        await using var first = await ConnectAsync(listener, client, relay, ct);

        foreach (var rotate in new Action[] { issuer.RenewNow, issuer.RollOverRootNow })
        {
            await using var warm = await ConnectAsync(listener, client, relay, ct);
            Assert.True(warm.Seen.ServerResumed);
            rotate();

            await using var after = await ConnectAsync(listener, client, relay, ct);
            Assert.False(after.Seen.ServerResumed);
            Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, after.Link.BackendSeenByClient);
            Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, after.Link.FrontendSeenByServer);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task When_only_the_backend_rotates_the_frontends_old_ticket_is_declined_and_it_sees_the_new_certificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { TimeProvider = time } });
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = Loopback.TlsClient(pki);
        await using var first = await ConnectAsync(listener, client, relay, ct);
        await using var warm = await ConnectAsync(listener, client, relay, ct);
        Assert.True(warm.Seen.ServerResumed);

        var next = pki.Backend();
        folder.Write(KubeletSecretFolder.Payload(next));
        Assert.True(source.CheckNow());

        // The frontend did not change: it still offers its ticket; the backend's new certificate declines it.
        await using var after = await ConnectAsync(listener, client, relay, ct);
        Assert.Equal(new HandshakeSeen(true, false), after.Seen);
        Assert.Equal(next.Certificate.Thumbprint, after.Link.BackendSeenByClient);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task When_only_the_frontend_rotates_it_does_not_resume_and_the_backend_sees_the_new_certificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Frontend()));
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1) });
        await using var listener = Loopback.ListenTls(pki);
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = new TransportConnectorOptions { Certificates = source, ServerIdentity = "localhost" };
        await using var first = await ConnectAsync(listener, client, relay, ct);
        await using var warm = await ConnectAsync(listener, client, relay, ct);
        Assert.True(warm.Seen.ServerResumed);

        var next = pki.Frontend();
        folder.Write(KubeletSecretFolder.Payload(next));
        Assert.True(source.CheckNow());

        // Were the old session resumed, the backend would see the frontend's old certificate.
        await using var after = await ConnectAsync(listener, client, relay, ct);
        Assert.False(after.Seen.ServerResumed);
        Assert.Equal(next.Certificate.Thumbprint, after.Link.FrontendSeenByServer);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task When_the_backend_stops_trusting_the_frontends_root_a_resumption_does_not_let_the_frontend_back_in()
    {
        // The backend's leaf (from root B) stays the same; only its ca.crt drops root A, the frontend's.
        var ct = TestContext.Current.CancellationToken;
        var a = TestPki.Create("Root A");
        var b = TestPki.Create("Root B");
        var backend = b.Backend();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(backend, trust: [a.Root, b.Root]));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { TimeProvider = time } });
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        var refused = listener.NextFailure();
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var frontend = new CertificateCredentials(a.Frontend().Certificate, null, b.Bundle);
        var client = new TransportConnectorOptions { Certificates = new StaticCertificateSource(frontend), ServerIdentity = "localhost" };
        await using var first = await ConnectAsync(listener, client, relay, ct);
        await using var warm = await ConnectAsync(listener, client, relay, ct);
        Assert.True(warm.Seen.ServerResumed);

        folder.Write(KubeletSecretFolder.Payload(backend, trust: b.Bundle));
        Assert.True(source.CheckNow());
        Assert.Equal(backend.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);

        // A removed root stays trusted for RootHandover (for peers that have not moved yet), then goes.
        Assert.Contains(source.GetTrustBundle(), r => r.Thumbprint == a.Root.Thumbprint);
        time.Advance(new SecretFolderOptions().RootHandover);
        Assert.DoesNotContain(source.GetTrustBundle(), r => r.Thumbprint == a.Root.Thumbprint);

        // In TLS 1.3 the frontend finishes its side before the backend checks it: it may connect, but it is
        // then refused, and nothing reaches it.
        var received = 0L;
        try
        {
            await using var connection = await new TransportConnector(client).ConnectAsync(relay.LocalEndPoint, ct);
            var read = await connection.Input.ReadAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
            received = read.Buffer.Length;
        }
        catch (TransportException)
        {
        }

        Assert.Equal(0, received);
        var failure = await refused.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(HandshakeFailureReason.UntrustedChain, failure.Error.Reason);
        TestContext.Current.SendDiagnosticMessage($"Trust removed on the backend: {await relay.NextAsync(ct)}");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task When_the_frontend_stops_trusting_the_backends_root_a_resumption_does_not_let_the_backend_back_in()
    {
        // The frontend's leaf stays the same (its client session cache too); only its ca.crt drops root B, the backend's.
        var ct = TestContext.Current.CancellationToken;
        var a = TestPki.Create("Root A");
        var b = TestPki.Create("Root B");
        var frontend = a.Frontend();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(frontend, trust: [a.Root, b.Root]));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { TimeProvider = time } });
        var backend = new CertificateCredentials(b.Backend().Certificate, null, a.Bundle);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = new StaticCertificateSource(backend) });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = new TransportConnectorOptions { Certificates = source, ServerIdentity = "localhost" };
        await using var first = await ConnectAsync(listener, client, relay, ct);
        await using var warm = await ConnectAsync(listener, client, relay, ct);
        Assert.True(warm.Seen.ServerResumed);

        folder.Write(KubeletSecretFolder.Payload(frontend, trust: a.Bundle));
        Assert.True(source.CheckNow());
        time.Advance(new SecretFolderOptions().RootHandover); // the removed root's handover, then it goes
        Assert.DoesNotContain(source.GetTrustBundle(), r => r.Thumbprint == b.Root.Thumbprint);

        var error = await Assert.ThrowsAsync<HandshakeException>(async () => await new TransportConnector(client).ConnectAsync(relay.LocalEndPoint, ct));
        Assert.Equal(HandshakeFailureReason.UntrustedChain, error.Reason);
        TestContext.Current.SendDiagnosticMessage($"Trust removed on the frontend: {await relay.NextAsync(ct)}");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_resumed_session_is_judged_by_the_same_rules_as_a_full_handshake()
    {
        // Two backends share one credentials version, so one SSL_CTX and its session tickets: a session made with
        // the permissive one resumes on the strict one. The strict one's verifier still runs on the resumed
        // handshake (with the session's certificate) and refuses the frontend it does not allow.
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var backend = new StaticCertificateSource(pki.Backend());
        await using var permissive = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend });
        await using var strict = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend, AllowedClientIdentities = { "another-frontend" } });
        var refused = strict.NextFailure();
        await using var toPermissive = new TlsHandshakeRelay(permissive.LocalEndPoint);
        await using var toStrict = new TlsHandshakeRelay(strict.LocalEndPoint);
        var client = Loopback.TlsClient(pki);
        await using var first = await ConnectAsync(permissive, client, toPermissive, ct);
        await using var warm = await ConnectAsync(permissive, client, toPermissive, ct);
        Assert.True(warm.Seen.ServerResumed);

        var clientError = await Refusals.ConnectExpectingFailureAsync(client, toStrict.LocalEndPoint);
        var seen = await toStrict.NextAsync(ct);
        Assert.True(seen.ServerResumed, $"The strict backend did not resume the session ({seen}): the test would not show what it names.");
        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.IdentityNotAllowed, "carries none of the allowed identities (another-frontend)");
        Assert.Contains("CN=frontend [DNS:frontend, IP:127.0.0.1]", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, "chains to");
    }

    /// <summary>Connects through the relay, exchanges a frame (the client has then read the server's session ticket) and returns what the relay saw.</summary>
    private static async Task<Connected> ConnectAsync(TransportListener listener, TransportConnectorOptions client, TlsHandshakeRelay relay, CancellationToken ct)
    {
        var link = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
        var seen = await relay.NextAsync(ct);
        await link.PingAsync("ticket", ct);
        return new Connected(link, seen);
    }

    private sealed record Connected(Link Link, HandshakeSeen Seen) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Link.DisposeAsync();
    }
}
