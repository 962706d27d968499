using System.Security.Authentication;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>Peers that are not our connector: no client certificate, or an older TLS version.</summary>
public class ClientCertificateAndProtocolTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_client_without_a_certificate_is_refused_with_NoCertificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        await using var raw = await RawTls.ConnectAsync(listener.LocalEndPoint, ct);
        var read = -1;
        Exception? clientError = null;
        try
        {
            // TLS 1.3: the client's side finishes before the server has looked at the (missing) certificate,
            // so the refusal reaches the client at its first read: the backend closes without a word.
            await raw.AuthenticateAsync(pki, SslProtocols.Tls13, null, ct).WaitAsync(Refusals.HangGuard, ct);
            read = await raw.Stream.ReadAsync(new byte[1], ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            clientError = ex;
        }

        await refused.AssertRefusedAsync(HandshakeFailureReason.NoCertificate, "The frontend presented no client certificate; mutual TLS requires one.");
        Assert.True(read == 0 || clientError is not null, $"The client without a certificate read {read} bytes.");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_12_only_client_is_refused_with_ProtocolVersion()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        // A certificate the backend would accept: only the version is wrong.
        var frontend = pki.Frontend();
        await using var raw = await RawTls.ConnectAsync(listener.LocalEndPoint, ct);
        var clientError = await Record.ExceptionAsync(() => raw.AuthenticateAsync(pki, SslProtocols.Tls12, frontend.Certificate, ct).WaitAsync(Refusals.HangGuard, ct));

        await refused.AssertRefusedAsync(HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite (this side requires TLS 1.3 unless AllowTls12 is set)");
        Assert.IsType<AuthenticationException>(clientError);
        Assert.Contains("protocol version", Flatten(clientError), StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task AllowTls12_lets_a_TLS_12_client_in()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.AllowTls12 = true);

        await using var raw = await RawTls.ConnectAsync(listener.LocalEndPoint, ct);
        await raw.AuthenticateAsync(pki, SslProtocols.Tls12, pki.Frontend().Certificate, ct).WaitAsync(Refusals.HangGuard, ct);
        await using var server = await listener.AcceptAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);

        Assert.Equal(SslProtocols.Tls12, raw.Stream.SslProtocol);
        Assert.Equal(SslProtocols.Tls12, server!.Security.Protocol);
        Assert.Equal("CN=frontend", server.Security.PeerCertificate!.Subject);
    }

    private static string Flatten(Exception? error)
    {
        var text = new System.Text.StringBuilder();
        for (var e = error; e is not null; e = e.InnerException)
        {
            text.Append(e.Message).Append(" <- ");
        }

        return text.ToString();
    }
}
