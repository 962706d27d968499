using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Hosting.Tests.Support;
using Broker.Transport.Security;

namespace Broker.Transport.Hosting.Tests.Diagnostics;

/// <summary>Text a peer chose, in a log line: escaped, so it cannot move the cursor, clear a line or forge another.</summary>
public class LogInjectionTests
{
    // ESC [2K clears the terminal's line; CR LF and a timestamp forge a log line of its own; BEL rings.
    private const string EvilName = "frontend\u001b[2K\r\n12:00:00 info: all good\u0007";

    [Fact(Timeout = 60_000)]
    public async Task A_subject_with_control_characters_is_escaped_in_the_refusal_log_line_byte_for_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.Environment = new TransportEnvironment { LoggerFactory = telemetry.Loggers });
        var refused = new TaskCompletionSource<HandshakeFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.HandshakeFailed += (_, e) => refused.TrySetResult(e);

        var evil = SelfSigned(EvilName, pki.Bundle);
        try
        {
            await using var connection = await new TransportConnector(Loopback.TlsClient(pki, evil)).ConnectAsync(listener.LocalEndPoint, ct);
            await connection.Input.ReadAsync(ct).AsTask().WaitAsync(Guard.HangTimeout, ct);
        }
        catch (HandshakeException)
        {
            // Refused, as expected: the frontend learns it at its connect or its first read.
        }

        var failure = await refused.Task.WaitAsync(Guard.HangTimeout, ct);
        var record = Assert.Single(await telemetry.EventsAsync(3));
        const string Shown = "CN=\"frontend\\x1b[2K\\x0d\\x0a12:00:00 info: all good\\x07\"";
        Assert.Equal(
            $"Connection from {failure.RemoteEndPoint} refused (UntrustedChain): The frontend's certificate {Shown}, issued by {Shown}, does not chain to the internal trust bundle (CN=Broker Test Internal CA). It is self-signed. Only the internal CA is trusted; the system's roots never are.",
            record.Message);
        Assert.DoesNotContain(record.Message, c => char.IsControl(c));
        Assert.Equal(failure.Error.Message, record.State("Detail"));
    }

    [Fact]
    public void A_name_with_control_characters_is_escaped_in_the_peers_description_and_cut_after_a_bound()
    {
        var info = PeerCertificateInfo.From(SelfSigned(EvilName + new string('x', 1000), TestPki.Create().Bundle).Certificate);

        var shown = info.ToString();

        Assert.StartsWith("CN=\"frontend\\x1b[2K\\x0d\\x0a12:00:00 info: all good\\x07xxx", shown, StringComparison.Ordinal);
        Assert.Contains("... (", shown, StringComparison.Ordinal);
        Assert.Contains(" more characters) [DNS:frontend\\x0a.evil]", shown, StringComparison.Ordinal);
        Assert.DoesNotContain(shown, c => char.IsControl(c));
        Assert.True(shown.Length < 400, $"{shown.Length} characters: {shown}");

        // The raw values stay as the certificate has them, for code that needs them.
        Assert.Equal(["frontend\n.evil"], info.DnsNames);
    }

    /// <summary>A self-signed frontend certificate whose common name is <paramref name="commonName"/>, trusting <paramref name="trust"/>.</summary>
    private static CertificateCredentials SelfSigned(string commonName, X509Certificate2Collection trust)
    {
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(commonName);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);

        // The SAN by hand: SubjectAlternativeNameBuilder refuses a control character, a hostile peer's encoder need not.
        var names = new AsnWriter(AsnEncodingRules.DER);
        using (names.PushSequence())
        {
            names.WriteCharacterString(UniversalTagNumber.IA5String, "frontend\n.evil", new Asn1Tag(TagClass.ContextSpecific, 2));
        }

        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", names.Encode(), critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        var self = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        return new CertificateCredentials(self, null, trust);
    }
}
