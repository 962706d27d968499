using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// One version of a side's TLS material: its leaf certificate with the private key, the intermediates
/// that lead to a root, and the trust bundle (the internal roots) that peers must chain to. Immutable.
/// Each version builds its <see cref="SslStreamCertificateContext"/> and chain policies once and every
/// connection that uses the version shares them.
/// </summary>
public sealed class CertificateCredentials
{
    private static long s_nextVersion;
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private readonly Lazy<SslStreamCertificateContext> _context;

    /// <summary>Creates a credentials version.</summary>
    /// <param name="certificate">The leaf certificate; it must carry its private key.</param>
    /// <param name="intermediates">Certificates between the leaf and a root, sent to peers with the leaf. May be empty.</param>
    /// <param name="trustBundle">The roots a peer's chain must end in. Nothing else is trusted; never the system's roots.</param>
    /// <exception cref="ArgumentException">The leaf has no private key, or the trust bundle is empty.</exception>
    public CertificateCredentials(X509Certificate2 certificate, X509Certificate2Collection? intermediates, X509Certificate2Collection trustBundle)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustBundle);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"The certificate {certificate.Subject} has no private key; a TLS endpoint needs its leaf's key.", nameof(certificate));
        }

        if (trustBundle.Count == 0)
        {
            throw new ArgumentException("The trust bundle is empty: with no internal root, no peer could ever be trusted.", nameof(trustBundle));
        }

        Certificate = certificate;
        Intermediates = intermediates ?? [];
        TrustBundle = trustBundle;
        Version = Interlocked.Increment(ref s_nextVersion);
        _context = new Lazy<SslStreamCertificateContext>(
            () => SslStreamCertificateContext.Create(Certificate, Intermediates, offline: true),
            LazyThreadSafetyMode.ExecutionAndPublication);
        ServerPolicy = CreatePolicy(ClientAuthentication);
        ClientPolicy = CreatePolicy(ServerAuthentication);
    }

    /// <summary>The leaf certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificates sent after the leaf.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The internal roots that a peer's chain must end in.</summary>
    public X509Certificate2Collection TrustBundle { get; }

    /// <summary>A number unique in this process, larger for newer versions.</summary>
    public long Version { get; }

    /// <summary>The context every handshake with this version shares (one per version: one per connection leaks on Linux).</summary>
    internal SslStreamCertificateContext Context => _context.Value;

    /// <summary>How a backend checks a frontend: the trust bundle alone, client-authentication EKU required.</summary>
    internal X509ChainPolicy ServerPolicy { get; }

    /// <summary>How a frontend checks a backend: the trust bundle alone, server-authentication EKU required.</summary>
    internal X509ChainPolicy ClientPolicy { get; }

    private X509ChainPolicy CreatePolicy(Oid requiredUsage)
    {
        // SslStream clones the policy for each handshake, so one instance serves every connection.
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(TrustBundle);
        policy.ApplicationPolicy.Add(requiredUsage);
        return policy;
    }

    /// <summary>The root in the trust bundle the leaf chains to (through the intermediates), by name; null when none matches.</summary>
    internal X509Certificate2? SigningRoot()
    {
        var issuer = Certificate.IssuerName.RawData;
        for (var depth = 0; depth <= Intermediates.Count; depth++)
        {
            foreach (var root in TrustBundle)
            {
                if (root.SubjectName.RawData.AsSpan().SequenceEqual(issuer))
                {
                    return root;
                }
            }

            var next = Intermediates.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(issuer));
            if (next is null)
            {
                return null;
            }

            issuer = next.IssuerName.RawData;
        }

        return null;
    }
}
