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

    [Fact]
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

    [Fact]
    public async Task A_self_signed_backend_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var self = TestPki.SelfSigned("backend", ["localhost"]).TrustingOnly(pki.Bundle);

        var error = await AssertFrontendRefusesBackendAsync(pki, self, HandshakeFailureReason.UntrustedChain, "does not chain to the internal trust bundle");
        Assert.Contains("It is self-signed.", error.Message, StringComparison.Ordinal);
        Assert.Contains("backend's certificate CN=backend", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backend_from_another_CA_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var stranger = TestPki.Create("Some Other CA");

        var error = await AssertFrontendRefusesBackendAsync(pki, stranger.Backend().TrustingOnly(pki.Bundle), HandshakeFailureReason.UntrustedChain, "issued by CN=Some Other CA, does not chain to the internal trust bundle (CN=Broker Test Internal CA)");
        Assert.DoesNotContain("self-signed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
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

    [Fact]
    public async Task An_expired_backend_certificate_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var now = DateTimeOffset.UtcNow;
        var expired = pki.Backend(s => s with { NotBefore = now.AddHours(-20), NotAfter = now.AddMinutes(-5) });

        await AssertFrontendRefusesBackendAsync(pki, expired, HandshakeFailureReason.Expired, "The backend's certificate CN=backend has expired");
    }

    [Fact]
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

    [Fact]
    public async Task A_backend_certificate_not_valid_yet_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var now = DateTimeOffset.UtcNow;
        var early = pki.Backend(s => s with { NotBefore = now.AddHours(2), NotAfter = now.AddDays(7) });

        await AssertFrontendRefusesBackendAsync(pki, early, HandshakeFailureReason.NotYetValid, "The backend's certificate CN=backend is not valid yet");
    }

    [Fact]
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

    [Fact]
    public async Task A_backend_certificate_without_the_server_authentication_EKU_is_refused_by_the_frontend()
    {
        var pki = TestPki.Create();
        var clientOnly = pki.Backend(s => s with { ServerAuthentication = false, ClientAuthentication = true });

        await AssertFrontendRefusesBackendAsync(pki, clientOnly, HandshakeFailureReason.WrongKeyUsage, "lacks the extended key usage its role needs (server authentication, 1.3.6.1.5.5.7.3.1)");
    }

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
