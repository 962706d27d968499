using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>What a leaf certificate should say.</summary>
internal sealed record LeafSpec(string CommonName, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    public IReadOnlyList<string> Uris { get; init; } = [];

    public IReadOnlyList<IPAddress> IPAddresses { get; init; } = [];

    public bool ServerAuthentication { get; init; } = true;

    public bool ClientAuthentication { get; init; } = true;
}

/// <summary>Makes keys, roots and leaves in process with <see cref="CertificateRequest"/>. Nothing touches the disk.</summary>
internal static class CertificateIssuance
{
    private static readonly Oid ServerAuthOid = new(ExtendedKeyUsage.ServerAuth);
    private static readonly Oid ClientAuthOid = new(ExtendedKeyUsage.ClientAuth);

    /// <summary>Creates a new key pair.</summary>
    /// <exception cref="NotSupportedException">Ed25519, which .NET cannot use for TLS.</exception>
    public static AsymmetricAlgorithm CreateKey(PrivateKeyAlgorithm algorithm) => algorithm switch
    {
        PrivateKeyAlgorithm.Ec256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        PrivateKeyAlgorithm.Ec384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        PrivateKeyAlgorithm.Ec521 => ECDsa.Create(ECCurve.NamedCurves.nistP521),
        PrivateKeyAlgorithm.Rsa2048 => RSA.Create(2048),
        PrivateKeyAlgorithm.Rsa4096 => RSA.Create(4096),
        PrivateKeyAlgorithm.Rsa8192 => RSA.Create(8192),
        _ => throw new NotSupportedException($"The private key algorithm {algorithm} cannot be used: {TlsKeyAlgorithms.WhyNot(algorithm)}"),
    };

    /// <summary>Creates a self-signed root CA certificate with <paramref name="key"/>.</summary>
    public static X509Certificate2 CreateRoot(string commonName, AsymmetricAlgorithm key, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = CreateRequest($"CN={commonName}", key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>Issues a leaf for <paramref name="key"/>, signed by <paramref name="issuer"/> (which must hold its private key).</summary>
    public static X509Certificate2 IssueLeaf(X509Certificate2 issuer, AsymmetricAlgorithm key, LeafSpec spec)
    {
        // The signature is the issuer's: its hash follows the issuer's key, and an RSA issuer needs a padding
        // whatever the leaf's own key is.
        var issuerKeySize = issuer.GetECDsaPublicKey()?.KeySize ?? 256;
        var request = new CertificateRequest(
            new X500DistinguishedName($"CN={spec.CommonName}"),
            new PublicKey(key),
            issuerKeySize > 384 ? HashAlgorithmName.SHA512 : issuerKeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256,
            issuer.GetRSAPublicKey() is null ? null : RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | (key is RSA ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement), true));
        var usages = new OidCollection();
        if (spec.ServerAuthentication)
        {
            usages.Add(ServerAuthOid);
        }

        if (spec.ClientAuthentication)
        {
            usages.Add(ClientAuthOid);
        }

        if (usages.Count > 0)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        }

        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in spec.DnsNames)
        {
            names.AddDnsName(dns);
        }

        foreach (var uri in spec.Uris)
        {
            names.AddUri(new Uri(uri));
        }

        foreach (var ip in spec.IPAddresses)
        {
            names.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));

        // A leaf never outlives its issuer, nor starts before it.
        var notAfter = spec.NotAfter > issuer.NotAfter ? new DateTimeOffset(issuer.NotAfter) : spec.NotAfter;
        if (spec.NotBefore < issuer.NotBefore)
        {
            throw new ArgumentException($"The leaf's NotBefore ({spec.NotBefore.UtcDateTime:u}) is earlier than its issuer's ({issuer.NotBefore.ToUniversalTime():u}).", nameof(spec));
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;

        // Create(issuerCertificate, ...) refuses a leaf key of another algorithm than the issuer's (an EC root
        // could not sign an RSA leaf), so the issuer's key signs through a generator of its own kind.
        using var issuerKey = (AsymmetricAlgorithm?)issuer.GetECDsaPrivateKey() ?? issuer.GetRSAPrivateKey()
            ?? throw new ArgumentException($"The issuer {issuer.Subject} has no ECDSA or RSA private key.", nameof(issuer));
        var generator = issuerKey is RSA rsaIssuer
            ? X509SignatureGenerator.CreateForRSA(rsaIssuer, RSASignaturePadding.Pkcs1)
            : X509SignatureGenerator.CreateForECDsa((ECDsa)issuerKey);
        using var signed = request.Create(issuer.SubjectName, generator, spec.NotBefore, notAfter, serial);
        return key switch
        {
            RSA rsa => signed.CopyWithPrivateKey(rsa),
            ECDsa ecdsa => signed.CopyWithPrivateKey(ecdsa),
            _ => throw new NotSupportedException($"Unsupported key type {key.GetType().Name}."),
        };
    }

    private static CertificateRequest CreateRequest(string subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, ecdsa.KeySize > 384 ? HashAlgorithmName.SHA512 : ecdsa.KeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256),
        _ => throw new NotSupportedException($"Unsupported key type {key.GetType().Name}."),
    };
}
