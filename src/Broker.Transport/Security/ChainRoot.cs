using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Security;

/// <summary>
/// The trust-bundle root a peer's chain ended in, kept as its subject and SHA-256 thumbprint (the certificate
/// itself belongs to the bundle, which a rotation replaces and disposes).
/// </summary>
public sealed class ChainRoot
{
    private ChainRoot(string subject, string thumbprint, string sha1Thumbprint)
    {
        Subject = subject;
        Thumbprint = thumbprint;
        Sha1Thumbprint = sha1Thumbprint;
    }

    /// <summary>The root's subject distinguished name.</summary>
    public string Subject { get; }

    /// <summary>The root's SHA-256 thumbprint, in upper-case hexadecimal.</summary>
    public string Thumbprint { get; }

    /// <summary>The SHA-1 thumbprint, as <see cref="X509Certificate2.Thumbprint"/> and the root handover's status name roots.</summary>
    internal string Sha1Thumbprint { get; }

    internal static ChainRoot Of(X509Certificate2 root) => new(root.Subject, ThumbprintOf(root), root.Thumbprint);

    internal static string ThumbprintOf(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    /// <inheritdoc />
    public override string ToString() => $"{CertificateText.Escape(Subject)} (SHA-256 {Thumbprint[..Math.Min(16, Thumbprint.Length)]}...)";
}
