using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>Chains longer than root-to-leaf, and material from the wrong places, for the TLS tests.</summary>
internal static class TestPkiChains
{
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
}
