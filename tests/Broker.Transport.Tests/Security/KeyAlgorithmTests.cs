using System.Text;
using Broker.Transport.Certificates;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>Leaves whose key algorithm differs from their root's: the root signs with its own kind of key.</summary>
public class KeyAlgorithmTests
{
    [Theory]
    [InlineData(true, "1.2.840.113549.1.1.1")] // an ECDSA root, RSA leaves
    [InlineData(false, "1.2.840.10045.2.1")] // an RSA root, ECDSA leaves
    public async Task A_root_of_one_key_algorithm_issues_working_leaves_of_another(bool rsaLeaves, string leafKeyOid)
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = rsaLeaves ? TestPki.Create() : TestPkiChains.CreateRsaRooted();
        var backendSpec = TestPki.DefaultLeaf("backend", ["localhost"], server: true, client: false);
        var frontendSpec = TestPki.DefaultLeaf("frontend", ["frontend"], server: false, client: true);
        var backend = rsaLeaves ? pki.IssueRsa(backendSpec) : pki.Issue(backendSpec);
        var frontend = rsaLeaves ? pki.IssueRsa(frontendSpec) : pki.Issue(frontendSpec);
        Assert.Equal(leafKeyOid, backend.Certificate.GetKeyAlgorithm());
        Assert.NotEqual(leafKeyOid, pki.Root.GetKeyAlgorithm());

        await using var listener = Loopback.ListenTls(pki, credentials: backend);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki, frontend), ct);
        await using var _ = client;
        await using var __ = server;
        await client.Output.WriteFrameAsync("mixed"u8.ToArray(), ct);
        var reader = server.CreateFrameReader();
        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal("mixed", Encoding.UTF8.GetString(reader.Current));
        Assert.Equal(backend.Certificate.Thumbprint, client.Security.PeerCertificate!.Certificate.Thumbprint);
        Assert.Equal(frontend.Certificate.Thumbprint, server.Security.PeerCertificate!.Certificate.Thumbprint);
    }
}
