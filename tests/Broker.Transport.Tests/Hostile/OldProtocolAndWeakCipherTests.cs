using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Hostile;

/// <summary>
/// OpenSSL peers (openssl s_client) that hold a certificate the backend would accept but offer only old TLS
/// versions or only weak cipher suites: each is refused with <see cref="HandshakeFailureReason.ProtocolVersion"/>
/// while a well-behaved frontend on another connection keeps exchanging frames.
/// </summary>
public class OldProtocolAndWeakCipherTests
{
    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData("-tls1")]
    [InlineData("-tls1_1")]
    [InlineData("-tls1_2")]
    public async Task A_peer_that_speaks_only_an_older_TLS_is_refused_with_ProtocolVersion(string version)
    {
        // SECLEVEL=0 lets this OpenSSL offer TLS 1.0 and 1.1 at all (its default configuration refuses to).
        var (error, transcript) = await AttackAsync(allowTls12: false, "s_client", version, "-cipher", "DEFAULT:@SECLEVEL=0");

        Refusals.AssertHandshake(error, HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite (this side requires TLS 1.3 unless AllowTls12 is set)");
        Assert.Contains("alert protocol version", transcript, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_12_peer_offering_only_null_and_anonymous_ciphers_is_refused_even_with_AllowTls12()
    {
        // eNULL: no encryption; aNULL: no authentication. ECDHE-ECDSA-NULL-SHA would fit the backend's EC key.
        var (error, transcript) = await AttackAsync(allowTls12: true, "s_client", "-tls1_2", "-cipher", "eNULL:aNULL:@SECLEVEL=0");

        Refusals.AssertHandshake(error, HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite");
        Assert.Contains("no shared cipher", error.Message, StringComparison.Ordinal);
        Assert.Contains("handshake failure", transcript, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_13_peer_offering_only_the_truncated_tag_suite_is_refused()
    {
        // TLS_AES_128_CCM_8_SHA256 has an 8-byte tag; OpenSSL's servers do not enable it unless asked.
        var (error, transcript) = await AttackAsync(allowTls12: false, "s_client", "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256");

        Refusals.AssertHandshake(error, HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite");
        Assert.Contains("handshake failure", transcript, StringComparison.Ordinal);
    }

    private static async Task<(HandshakeException Error, string Transcript)> AttackAsync(bool allowTls12, params string[] arguments)
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("frontend", pki.Frontend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var listener = Loopback.ListenTls(pki, o => o.AllowTls12 = allowTls12);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);
        var refused = listener.NextFailure();

        await using var client = OpenSslProcess.Start(
            folder.Path,
            [.. arguments, "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-cert", certificate, "-key", key, "-CAfile", bundle, "-servername", "localhost", "-quiet"]);

        var failure = await refused.WaitAsync(Refusals.HangGuard, ct);
        var exit = await client.WaitForExitAsync(Refusals.HangGuard, ct);
        Assert.True(exit != 0, $"s_client exited with 0.\n{client.Transcript}");
        Assert.Empty(client.Output);
        Assert.Equal(1, listener.HandshakesFailed);
        await witness.AssertStillExchangingAsync();
        return (failure.Error, client.Transcript);
    }
}
