using System.Security.Cryptography.X509Certificates;
using System.Text;
using Broker.Transport.Certificates;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// Loading tls.crt, tls.key and ca.crt as cert-manager writes them: every key encoding it may use, the chain
/// after the leaf, and errors that name the file to look at.
/// </summary>
public class PemCredentialsTests
{
    public enum KeyEncoding
    {
        EcPkcs1,
        EcPkcs8,
        RsaPkcs1,
        RsaPkcs8,
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(KeyEncoding.EcPkcs1, "-----BEGIN EC PRIVATE KEY-----")]
    [InlineData(KeyEncoding.EcPkcs8, "-----BEGIN PRIVATE KEY-----")]
    [InlineData(KeyEncoding.RsaPkcs1, "-----BEGIN RSA PRIVATE KEY-----")]
    [InlineData(KeyEncoding.RsaPkcs8, "-----BEGIN PRIVATE KEY-----")]
    public async Task Each_key_encoding_loads_and_serves_a_handshake(KeyEncoding encoding, string header)
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var spec = TestPki.DefaultLeaf("backend", ["localhost"], server: true, client: false);
        var issued = encoding is KeyEncoding.RsaPkcs1 or KeyEncoding.RsaPkcs8 ? pki.IssueRsa(spec) : pki.Issue(spec);
        var keyPem = encoding is KeyEncoding.EcPkcs1 or KeyEncoding.RsaPkcs1 ? PemFiles.Pkcs1Key(issued.Certificate) : PemFiles.Pkcs8Key(issued.Certificate);
        Assert.StartsWith(header, keyPem, StringComparison.Ordinal);
        using var folder = new TempFolder();
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(issued));
        folder.Write(PemCredentials.KeyFileName, keyPem);
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle(pki.Bundle));

        var loaded = PemCredentials.LoadFolder(folder.Path);

        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.Equal(issued.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.Empty(loaded.Intermediates);
        Assert.Equal(pki.Root.Thumbprint, Assert.Single(loaded.TrustBundle).Thumbprint);

        // The loaded key must really sign: the backend proves it in a handshake.
        await using var listener = Loopback.ListenTls(pki, credentials: loaded);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using var _ = client;
        await using var __ = server;
        await client.Output.WriteFrameAsync("signed with a loaded key"u8.ToArray(), ct);
        var reader = server.CreateFrameReader();
        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal("signed with a loaded key", Encoding.UTF8.GetString(reader.Current));
        Assert.Equal(issued.Certificate.Thumbprint, client.Security.PeerCertificate!.Certificate.Thumbprint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_tls_crt_with_leaf_and_intermediate_keeps_the_chain_and_sends_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPkiChains.CreateWithRoomForIntermediates();
        var intermediate = pki.CreateIntermediate();
        var issued = pki.IssueVia(intermediate, TestPki.DefaultLeaf("backend", ["localhost"], server: true, client: false));
        var otherRoot = TestPki.Create("Another Internal Root").Root;
        using var folder = new TempFolder();
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(issued));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(issued.Certificate));
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle([pki.Root, otherRoot]));

        var loaded = PemCredentials.LoadFolder(folder.Path);

        Assert.Equal(issued.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.Equal(intermediate.Thumbprint, Assert.Single(loaded.Intermediates).Thumbprint);
        Assert.Equal([pki.Root.Thumbprint, otherRoot.Thumbprint], loaded.TrustBundle.Select(c => c.Thumbprint));

        // The frontend knows only the root: the handshake works only because the backend sends the intermediate.
        await using var listener = Loopback.ListenTls(pki, credentials: loaded);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using var _ = client;
        await using var __ = server;
        Assert.Equal(issued.Certificate.Thumbprint, client.Security.PeerCertificate!.Certificate.Thumbprint);

        // The same leaf without its intermediate does not chain, which is what makes the check above mean something.
        await using var bare = Loopback.ListenTls(pki, credentials: new CertificateCredentials(loaded.Certificate, null, pki.Bundle));
        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), bare.LocalEndPoint);
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.UntrustedChain, "issued by CN=Broker Test Intermediate CA, does not chain to the internal trust bundle");
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var pki = TestPki.Create();
        var issued = pki.Backend();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("backend", issued);
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        var missing = folder.File("no-such.key");

        var error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFiles(certificate, missing, bundle));
        Assert.Contains($"The private key file '{missing}' does not exist", error.Message, StringComparison.Ordinal);

        var inMissingFolder = Path.Combine(folder.Path, "gone", "ca.crt");
        error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFiles(certificate, key, inMissingFolder));
        Assert.Contains($"The trust bundle file '{inMissingFolder}' does not exist", error.Message, StringComparison.Ordinal);

        var noFolder = Path.Combine(folder.Path, "no-such-secret");
        error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFolder(noFolder));
        Assert.Contains($"The certificate folder '{noFolder}' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_from_another_certificate_is_refused_naming_both_files()
    {
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, _) = folder.WriteCredentials("backend", pki.Backend());
        var (_, otherKey) = folder.WriteCredentials("renewed", pki.Backend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);

        var error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFiles(certificate, otherKey, bundle));

        Assert.Contains($"The private key in '{otherKey}' does not belong to the certificate in '{certificate}' (CN=backend)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_of_another_type_is_refused_naming_the_key_file()
    {
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, _) = folder.WriteCredentials("backend", pki.Backend());
        var rsaKey = folder.Write("rsa.key", TestPkiChains.SharedRsaKey.ExportRSAPrivateKeyPem());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);

        var error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFiles(certificate, rsaKey, bundle));

        Assert.Contains($"The private key in '{rsaKey}' does not belong to the certificate in '{certificate}'", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> Garbage => new()
    {
        { PemCredentials.CertificateFileName, "this is not a certificate\n", "holds no 'BEGIN CERTIFICATE' block" },
        { PemCredentials.CertificateFileName, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", "is not a valid PEM certificate file" },
        { PemCredentials.KeyFileName, "this is not a key\n", "holds no usable private key" },
        { PemCredentials.KeyFileName, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "holds no usable private key" },
        { PemCredentials.KeyFileName, "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n", "holds no usable private key" },
        { PemCredentials.TrustBundleFileName, "", "holds no 'BEGIN CERTIFICATE' block" },
        { PemCredentials.TrustBundleFileName, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "holds no 'BEGIN CERTIFICATE' block" },
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public void Garbage_in_a_file_is_refused_naming_that_file(string file, string content, string problem)
    {
        var pki = TestPki.Create();
        var issued = pki.Backend();
        using var folder = new TempFolder();
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(issued));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(issued.Certificate));
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle(pki.Bundle));
        var broken = folder.Write(file, content);

        var error = Assert.Throws<CertificateLoadException>(() => PemCredentials.LoadFolder(folder.Path));

        Assert.Contains($"'{broken}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        foreach (var other in new[] { PemCredentials.CertificateFileName, PemCredentials.KeyFileName, PemCredentials.TrustBundleFileName }.Where(f => f != file))
        {
            Assert.DoesNotContain($"'{folder.File(other)}'", error.Message, StringComparison.Ordinal);
        }
    }
}
