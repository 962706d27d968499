using System.Net;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A PKI made in the test, in process: an internal root and leaves for the backend and frontend
/// identities. Each test makes its own; nothing is read from disk.
/// </summary>
internal sealed class TestPki
{
    private readonly PrivateKeyAlgorithm _algorithm;

    private TestPki(X509Certificate2 root, PrivateKeyAlgorithm algorithm)
    {
        Root = root;
        _algorithm = algorithm;
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2Collection Bundle => [Root];

    public static TestPki Create(string name = "Broker Test Internal CA", PrivateKeyAlgorithm algorithm = PrivateKeyAlgorithm.Ec256)
    {
        var now = DateTimeOffset.UtcNow;
        var key = CertificateIssuance.CreateKey(algorithm);
        return new TestPki(CertificateIssuance.CreateRoot(name, key, now.AddDays(-1), now.AddDays(30)), algorithm);
    }

    /// <summary>A PKI around a root made elsewhere (it must carry its private key).</summary>
    public static TestPki FromRoot(X509Certificate2 root, PrivateKeyAlgorithm algorithm = PrivateKeyAlgorithm.Ec256) => new(root, algorithm);

    /// <summary>The backend's credentials: DNS localhost and IP 127.0.0.1, server authentication.</summary>
    public CertificateCredentials Backend(Func<LeafSpec, LeafSpec>? change = null)
        => Issue(change?.Invoke(DefaultLeaf("backend", ["localhost"], server: true, client: false)) ?? DefaultLeaf("backend", ["localhost"], server: true, client: false));

    /// <summary>The frontend's credentials: DNS frontend, client authentication.</summary>
    public CertificateCredentials Frontend(Func<LeafSpec, LeafSpec>? change = null)
        => Issue(change?.Invoke(DefaultLeaf("frontend", ["frontend"], server: false, client: true)) ?? DefaultLeaf("frontend", ["frontend"], server: false, client: true));

    public CertificateCredentials Issue(LeafSpec spec, PrivateKeyAlgorithm? algorithm = null)
    {
        var key = CertificateIssuance.CreateKey(algorithm ?? _algorithm);
        var leaf = CertificateIssuance.IssueLeaf(Root, key, spec);
        return new CertificateCredentials(leaf, null, Bundle);
    }

    /// <summary>A certificate that signs itself, trusting only itself.</summary>
    public static CertificateCredentials SelfSigned(string name, IReadOnlyList<string> dnsNames)
    {
        var key = CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256);
        var now = DateTimeOffset.UtcNow;
        var request = new CertificateRequest($"CN={name}", (System.Security.Cryptography.ECDsa)key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            names.AddDnsName(dns);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new("1.3.6.1.5.5.7.3.1"), new("1.3.6.1.5.5.7.3.2")], false));
        var self = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        return new CertificateCredentials(self, null, [self]);
    }

    public static LeafSpec DefaultLeaf(string name, IReadOnlyList<string> dnsNames, bool server, bool client)
    {
        var now = DateTimeOffset.UtcNow;
        return new LeafSpec(name, now.AddHours(-1), now.AddDays(7))
        {
            DnsNames = dnsNames,
            IPAddresses = [IPAddress.Loopback],
            ServerAuthentication = server,
            ClientAuthentication = client,
        };
    }
}
