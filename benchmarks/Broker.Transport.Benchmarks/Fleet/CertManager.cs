using System.Net;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Cli.Certs;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// cert-manager, for the fleet: a CA issuer whose Certificates have <c>rotationPolicy: Always</c> (a new key at every
/// renewal) and explicit usages (server auth for backends, client auth for frontends), and trust-manager's Bundle of
/// the roots it is told to distribute.
/// </summary>
internal sealed class CertManager : IDisposable
{
    private readonly TimeSpan _leafDuration;
    private readonly List<X509Certificate2> _roots = [];

    public CertManager(TimeSpan leafDuration)
    {
        _leafDuration = leafDuration;
        Issuer = NewRoot();
    }

    /// <summary>The CA the ClusterIssuer signs with now.</summary>
    public X509Certificate2 Issuer { get; set; }

    /// <summary>A new CA (its key with it), named by its number.</summary>
    public X509Certificate2 NewRoot()
    {
        var now = DateTimeOffset.UtcNow;
        var key = CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256);
        var root = CertificateIssuance.CreateRoot($"Broker Fleet CA {_roots.Count + 1}", key, now.AddHours(-1), now.AddDays(1));
        _roots.Add(root);
        return root;
    }

    /// <summary>The pod's Secret as cert-manager writes it after a renewal: a new leaf on a new key, and the issuer as ca.crt.</summary>
    public SecretFile[] Issue(PodSettings pod)
    {
        var now = DateTimeOffset.UtcNow;
        using var key = CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256);
        var spec = new LeafSpec(pod.Name, now.AddMinutes(-1), now + _leafDuration)
        {
            DnsNames = [pod.Backend ? PodSettings.BackendName(pod.Index) : PodSettings.FrontendName(pod.Index)],
            IPAddresses = pod.Backend ? [IPAddress.Loopback] : [],
            ServerAuthentication = pod.Backend,
            ClientAuthentication = !pod.Backend,
        };
        using var leaf = CertificateIssuance.IssueLeaf(Issuer, key, spec);
        return DevPki.SecretFiles(leaf, Pem(Issuer));
    }

    /// <summary>The ConfigMap a trust-manager Bundle writes: <paramref name="roots"/> in its ca.crt.</summary>
    public static SecretFile[] Bundle(params X509Certificate2[] roots) => [new SecretFile(PemCredentials.TrustBundleFileName, string.Concat(roots.Select(Pem)))];

    public void Dispose()
    {
        foreach (var root in _roots)
        {
            root.Dispose();
        }
    }

    private static string Pem(X509Certificate2 certificate) => certificate.ExportCertificatePem() + "\n";
}
