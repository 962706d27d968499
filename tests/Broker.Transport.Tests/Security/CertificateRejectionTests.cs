using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// Peers whose certificates must not pass: each test checks the refusing side's reason and message, and
/// that the refused side fails too instead of hanging or talking.
/// </summary>
public class CertificateRejectionTests
{
    // The refused frontend learns of it as a TLS alert or as a close right after its side of the handshake.
    private const string RefusedHint = "chains to";

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_self_signed_frontend_is_refused_as_untrusted_and_named_self_signed()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        var self = TestPki.SelfSigned("frontend", ["frontend"]).TrustingOnly(pki.Bundle);
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, self), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.UntrustedChain, "does not chain to the internal trust bundle");
        Assert.Contains("It is self-signed.", error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=frontend", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_self_signed_backend_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var self = TestPki.SelfSigned("backend", ["localhost"]).TrustingOnly(pki.Bundle);

        var error = await AssertFrontendRefusesBackendAsync(pki, self, HandshakeFailureReason.UntrustedChain, "does not chain to the internal trust bundle");
        Assert.Contains("It is self-signed.", error.Message, StringComparison.Ordinal);
        Assert.Contains("backend's certificate CN=backend", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_from_another_CA_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var stranger = TestPki.Create("Some Other CA");

        var error = await AssertFrontendRefusesBackendAsync(pki, stranger.Backend().TrustingOnly(pki.Bundle), HandshakeFailureReason.UntrustedChain, "issued by CN=Some Other CA, does not chain to the internal trust bundle (CN=Broker Test Internal CA)");
        Assert.DoesNotContain("self-signed", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_expired_frontend_certificate_is_refused_as_expired()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        var now = DateTimeOffset.UtcNow;
        var expired = pki.Frontend(s => s with { NotBefore = now.AddHours(-20), NotAfter = now.AddHours(-1) });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, expired), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.Expired, "The frontend's certificate CN=frontend has expired");
        Assert.Contains($"valid until {expired.Certificate.NotAfter.ToUniversalTime():u}", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_expired_backend_certificate_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var now = DateTimeOffset.UtcNow;
        var expired = pki.Backend(s => s with { NotBefore = now.AddHours(-20), NotAfter = now.AddMinutes(-5) });

        await AssertFrontendRefusesBackendAsync(pki, expired, HandshakeFailureReason.Expired, "The backend's certificate CN=backend has expired");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_certificate_not_valid_yet_is_refused_and_the_message_points_at_the_clocks()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        var now = DateTimeOffset.UtcNow;
        var early = pki.Frontend(s => s with { NotBefore = now.AddDays(1), NotAfter = now.AddDays(7) });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, early), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.NotYetValid, "The frontend's certificate CN=frontend is not valid yet");
        Assert.Contains("check both machines' clocks", error.Message, StringComparison.Ordinal);
        Assert.Contains($"valid from {early.Certificate.NotBefore.ToUniversalTime():u}", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_certificate_not_valid_yet_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var now = DateTimeOffset.UtcNow;
        var early = pki.Backend(s => s with { NotBefore = now.AddHours(2), NotAfter = now.AddDays(7) });

        await AssertFrontendRefusesBackendAsync(pki, early, HandshakeFailureReason.NotYetValid, "The backend's certificate CN=backend is not valid yet");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_certificate_without_the_client_authentication_EKU_is_refused()
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        // A backend's certificate used as a frontend's: server authentication only.
        var serverOnly = pki.Frontend(s => s with { ClientAuthentication = false, ServerAuthentication = true });
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, serverOnly), listener.LocalEndPoint);

        await refused.AssertRefusedAsync(HandshakeFailureReason.WrongKeyUsage, "lacks the extended key usage its role needs (client authentication, 1.3.6.1.5.5.7.3.2)");
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_certificate_without_the_server_authentication_EKU_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var clientOnly = pki.Backend(s => s with { ServerAuthentication = false, ClientAuthentication = true });

        await AssertFrontendRefusesBackendAsync(pki, clientOnly, HandshakeFailureReason.WrongKeyUsage, "lacks the extended key usage its role needs (server authentication, 1.3.6.1.5.5.7.3.1)");
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_frontend_leaf_without_an_EKU_is_refused_and_the_message_names_the_cert_manager_fix(bool withAllowList)
    {
        // What cert-manager issues for a Certificate without usages: KeyUsage digitalSignature and keyEncipherment,
        // no EKU extension. .NET's own check (ApplicationPolicy) takes a missing EKU for "any use".
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            if (withAllowList)
            {
                o.AllowedClientIdentities.Add("frontend");
            }
        });
        var refused = listener.NextFailure();
        var noEku = pki.IssueWith("frontend", ["frontend"], CertManagerKeyUsage(), Leaf());

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, noEku), listener.LocalEndPoint);

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.WrongKeyUsage, "The frontend's certificate CN=frontend has no extended key usage extension; its role needs client authentication, 1.3.6.1.5.5.7.3.2.");
        Assert.Contains("usages: [digital signature, client auth]", error.Message, StringComparison.Ordinal);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
        Assert.Equal(1, listener.HandshakesFailed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_leaf_without_an_EKU_is_refused_by_the_frontend_and_the_message_names_the_cert_manager_fix()
    {
        var pki = TestPki.Create();
        var noEku = pki.IssueWith("backend", ["localhost"], CertManagerKeyUsage(), Leaf());

        var error = await AssertFrontendRefusesBackendAsync(pki, noEku, HandshakeFailureReason.WrongKeyUsage, "The backend's certificate CN=backend has no extended key usage extension; its role needs server authentication, 1.3.6.1.5.5.7.3.1.");
        Assert.Contains("usages: [digital signature, server auth]", error.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData("frontend", "CA:TRUE", "is a CA certificate (basicConstraints CA:TRUE); a peer must present a leaf")]
    [InlineData("frontend", "keyCertSign only", "may sign certificates or CRLs (KeyUsage KeyCertSign); a peer's leaf must not.")]
    [InlineData("frontend", "cRLSign", "may sign certificates or CRLs (KeyUsage CrlSign, DigitalSignature)")]
    [InlineData("frontend", "no digitalSignature", "has a KeyUsage extension without digitalSignature (KeyUsage KeyEncipherment)")]
    [InlineData("backend", "CA:TRUE", "is a CA certificate (basicConstraints CA:TRUE); a peer must present a leaf")]
    [InlineData("backend", "keyCertSign only", "may sign certificates or CRLs (KeyUsage KeyCertSign); a peer's leaf must not.")]
    public async Task A_peer_certificate_that_may_sign_certificates_is_refused_on_both_sides(string side, string kind, string messagePart)
    {
        var pki = TestPki.Create();
        X509Extension[] extensions = kind switch
        {
            "CA:TRUE" => [new X509BasicConstraintsExtension(true, false, 0, true), new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true), TestPkiChains.Eku(server: true, client: true)],
            "keyCertSign only" => [new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true), TestPkiChains.Eku(server: true, client: true)],
            "cRLSign" => [Leaf(), new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign, true), TestPkiChains.Eku(server: true, client: true)],
            "no digitalSignature" => [Leaf(), new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment, true), TestPkiChains.Eku(server: true, client: true)],
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

        if (side == "backend")
        {
            var backend = pki.IssueWith("backend", ["localhost"], extensions);
            await AssertFrontendRefusesBackendAsync(pki, backend, HandshakeFailureReason.WrongKeyUsage, $"The backend's certificate CN=backend {messagePart}");
            return;
        }

        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();
        var frontend = pki.IssueWith("frontend", ["frontend"], extensions);
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, frontend), listener.LocalEndPoint);

        await refused.AssertRefusedAsync(HandshakeFailureReason.WrongKeyUsage, $"The frontend's certificate CN=frontend {messagePart}");
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.RejectedByPeer, RefusedHint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_leaf_with_the_right_EKU_and_key_usage_is_accepted_on_both_sides()
    {
        // The control for the refusals above: the same builder, with what a leaf should carry, passes.
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var backend = pki.IssueWith("backend", ["localhost"], Leaf(), CertManagerKeyUsage(), TestPkiChains.Eku(server: true, client: false));
        var frontend = pki.IssueWith("frontend", ["frontend"], Leaf(), CertManagerKeyUsage(), TestPkiChains.Eku(server: false, client: true));
        await using var listener = Loopback.ListenTls(pki, credentials: backend);

        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, frontend), ct);
        await using var _ = client;
        await using var __ = server;
        Assert.Equal(backend.Certificate.Thumbprint, client.Security.PeerCertificate!.Certificate.Thumbprint);
        Assert.Equal(frontend.Certificate.Thumbprint, server.Security.PeerCertificate!.Certificate.Thumbprint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_refusal_names_three_roots_of_a_large_trust_bundle_then_how_many_more()
    {
        // 1,000 roots (the most a ca.crt may hold): the refusal stays one short line instead of naming them all.
        var pki = TestPki.Create();
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var bundle = new X509Certificate2Collection(pki.Root);
        for (var i = 1; i < 1000; i++)
        {
            bundle.Add(CertificateIssuance.CreateRoot($"Other Root {i}", key, now.AddDays(-1), now.AddDays(1)));
        }

        var frontend = pki.Frontend().TrustingOnly(bundle);
        var stranger = TestPki.Create("Some Other CA").Backend().TrustingOnly(pki.Bundle);
        await using var listener = Loopback.ListenTls(pki, credentials: stranger);
        var refused = listener.NextFailure();

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki, frontend), listener.LocalEndPoint);

        var error = Refusals.AssertHandshake(clientError, HandshakeFailureReason.UntrustedChain, "does not chain to the internal trust bundle (CN=Broker Test Internal CA; CN=Other Root 1; CN=Other Root 2 and 997 more).");
        Assert.True(error.Message.Length < 600, $"The refusal is {error.Message.Length} characters long: {error.Message}");
        await listener.AssertBackendDroppedAsync(refused);
    }

    /// <summary>The KeyUsage cert-manager gives a leaf by default: digitalSignature and keyEncipherment.</summary>
    private static X509KeyUsageExtension CertManagerKeyUsage() => new(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true);

    /// <summary>basicConstraints CA:FALSE.</summary>
    private static X509BasicConstraintsExtension Leaf() => new(false, false, 0, true);

    /// <summary>
    /// A frontend trusting <paramref name="pki"/> connects to a backend presenting <paramref name="backend"/>:
    /// checks the frontend's refusal (reason and message) and that the backend drops the connection too.
    /// </summary>
    private static async Task<HandshakeException> AssertFrontendRefusesBackendAsync(TestPki pki, CertificateCredentials backend, HandshakeFailureReason reason, string messagePart)
    {
        await using var listener = Loopback.ListenTls(pki, credentials: backend);
        var refused = listener.NextFailure();
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), listener.LocalEndPoint);

        var error = Refusals.AssertHandshake(clientError, reason, messagePart);
        await listener.AssertBackendDroppedAsync(refused);
        return error;
    }
}
