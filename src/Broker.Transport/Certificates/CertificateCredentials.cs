using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// One version of a side's TLS material: its leaf certificate with the private key, the intermediates
/// that lead to a root, and the trust bundle (the internal roots) that peers must chain to. Immutable.
/// Each version builds its <see cref="SslStreamCertificateContext"/> once and every connection that uses the
/// version shares it.
/// </summary>
public sealed partial class CertificateCredentials
{
    private static long s_nextVersion;

    private readonly Lazy<SslStreamCertificateContext> _context;
    private readonly X509Certificate2? _signingRoot;

    /// <summary>Creates a credentials version. The library never disposes what it is given here.</summary>
    /// <param name="certificate">The leaf certificate; it must carry its private key.</param>
    /// <param name="intermediates">Certificates between the leaf and a root, sent to peers with the leaf. May be empty.</param>
    /// <param name="trustBundle">The roots a peer's chain must end in. Nothing else is trusted; never the system's roots.</param>
    /// <exception cref="ArgumentException">The leaf has no private key, or the trust bundle is empty.</exception>
    public CertificateCredentials(X509Certificate2 certificate, X509Certificate2Collection? intermediates, X509Certificate2Collection trustBundle)
        : this(certificate, intermediates, trustBundle, owner: null)
    {
    }

    /// <summary>Creates a version whose leaf (with its key) and intermediates <paramref name="owner"/> disposes once no version holds them.</summary>
    internal CertificateCredentials(X509Certificate2 certificate, X509Certificate2Collection? intermediates, X509Certificate2Collection trustBundle, OwnedLeaf? owner)
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

        // What the metrics and the health check read at any time, kept apart from the leaf: once this version is
        // replaced, its leaf may be disposed under a reader that took the version a moment before.
        NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        Thumbprint = certificate.Thumbprint;
        Subject = certificate.Subject;
        _signingRoot = FindSigningRoot();
        _owner = owner;
        owner?.Hold();
    }

    /// <summary>
    /// The leaf certificate, with its private key. A source that rotates (the embedded issuer, a Secret folder)
    /// disposes it once it has replaced this version and no handshake uses it any more: read what you need from
    /// the version current now, or the copies below.
    /// </summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificates sent after the leaf.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The internal roots that a peer's chain must end in.</summary>
    public X509Certificate2Collection TrustBundle { get; }

    /// <summary>A number unique in this process, larger for newer versions.</summary>
    internal long Version { get; }

    /// <summary>When the leaf starts being valid (UTC); readable after the leaf is disposed.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>When the leaf stops being valid (UTC); readable after the leaf is disposed.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The leaf's SHA-1 thumbprint in hexadecimal, as <see cref="X509Certificate2.Thumbprint"/>; readable after the leaf is disposed.</summary>
    public string Thumbprint { get; }

    /// <summary>The leaf's subject; readable after the leaf is disposed.</summary>
    public string Subject { get; }

    /// <summary>The context every handshake with this version shares (one per version: one per connection leaks on Linux).</summary>
    internal SslStreamCertificateContext Context => _context.Value;

    /// <summary>The root in the trust bundle the leaf chains to (through the intermediates), by name; null when none matches.</summary>
    internal X509Certificate2? SigningRoot() => _signingRoot;

    private X509Certificate2? FindSigningRoot()
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
