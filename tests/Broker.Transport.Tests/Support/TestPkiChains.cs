using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>Chains longer than root-to-leaf, and material from the wrong places, for the TLS tests.</summary>
internal static class TestPkiChains
{
    // RSA keys take about a second each to generate on a small machine: the tests that need one share it.
    private static readonly Lazy<RSA> SharedRsa = new(() => RSA.Create(2048));

    /// <summary>One 2048-bit RSA key for the whole test run; each test still makes its own certificates.</summary>
    public static RSA SharedRsaKey => SharedRsa.Value;

    /// <summary>
    /// A PKI whose root may have intermediates below it. (<see cref="CertificateIssuance.CreateRoot"/> makes
    /// the internal root with a path length of 0: it signs leaves only.)
    /// </summary>
    public static TestPki CreateWithRoomForIntermediates(string name = "Broker Test Internal CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return TestPki.FromRoot(request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30)));
    }

    /// <summary>A PKI whose root's key is the shared RSA key; its leaves are ECDSA P-256 unless asked otherwise.</summary>
    public static TestPki CreateRsaRooted(string name = "Broker Test RSA CA")
    {
        var now = DateTimeOffset.UtcNow;
        return TestPki.FromRoot(CertificateIssuance.CreateRoot(name, SharedRsaKey, now.AddDays(-1), now.AddDays(30)));
    }

    /// <summary>A leaf for the shared RSA key, signed by the PKI's root whatever its key.</summary>
    public static CertificateCredentials IssueRsa(this TestPki pki, LeafSpec spec)
        => new(CertificateIssuance.IssueLeaf(pki.Root, SharedRsaKey, spec), null, pki.Bundle);

    /// <summary>An intermediate CA (its private key included) signed by the PKI's root.</summary>
    public static X509Certificate2 CreateIntermediate(this TestPki pki, string name = "Broker Test Intermediate CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(pki.Root, true, false));
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(pki.Root, now.AddHours(-2), now.AddDays(20), serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A leaf signed by <paramref name="intermediate"/>, whose credentials send the intermediate after the leaf.</summary>
    public static CertificateCredentials IssueVia(this TestPki pki, X509Certificate2 intermediate, LeafSpec spec)
    {
        using var key = CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256);
        var leaf = CertificateIssuance.IssueLeaf(intermediate, key, spec);
        var chain = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(intermediate.RawData) };
        return new CertificateCredentials(leaf, chain, pki.Bundle);
    }

    /// <summary>The same leaf and key, but trusting <paramref name="trustBundle"/>: a peer whose certificate comes from elsewhere yet that trusts us.</summary>
    public static CertificateCredentials TrustingOnly(this CertificateCredentials credentials, X509Certificate2Collection trustBundle)
        => new(credentials.Certificate, credentials.Intermediates, trustBundle);

    /// <summary>
    /// A leaf signed by the PKI's root with exactly the extensions <paramref name="extensions"/> gives, besides its
    /// names (DNS <paramref name="dnsNames"/>, IP 127.0.0.1) and key identifiers: for the leaves no issuer of ours
    /// makes (no EKU, CA:TRUE, keyCertSign only).
    /// </summary>
    public static CertificateCredentials IssueWith(this TestPki pki, string name, IReadOnlyList<string> dnsNames, params X509Extension[] extensions)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            names.AddDnsName(dns);
        }

        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(pki.Root, true, false));
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(pki.Root, now.AddHours(-1), now.AddDays(7), serial);
        return new CertificateCredentials(signed.CopyWithPrivateKey(key), null, pki.Bundle);
    }

    /// <summary>The EKU extension for server authentication, client authentication, or both.</summary>
    public static X509EnhancedKeyUsageExtension Eku(bool server, bool client)
    {
        var usages = new OidCollection();
        if (server)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        if (client)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        return new X509EnhancedKeyUsageExtension(usages, false);
    }
}
