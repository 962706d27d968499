using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// Where a TLS endpoint gets its certificate and trust bundle. It is asked at every handshake, so a
/// source that rotates its material (a renewing issuer, a Kubernetes Secret folder) is picked up by the
/// next connection while open connections keep the version they started with.
/// </summary>
public interface ICertificateSource
{
    /// <summary>The credentials to use for a handshake starting now.</summary>
    /// <exception cref="CertificateUnavailableException">The source holds no usable material (not ready yet, or disposed).</exception>
    CertificateCredentials GetCurrent();

    /// <summary>
    /// The roots a peer's chain must end in, read when a peer's certificate is verified (not when the
    /// handshake started), so a root trusted a moment ago already counts. Defaults to the trust bundle of
    /// <see cref="GetCurrent"/>; a source whose trust comes from elsewhere than its leaf (a separate bundle file,
    /// roots kept during a handover) returns that.
    /// </summary>
    /// <exception cref="CertificateUnavailableException">The source holds no usable material.</exception>
    X509Certificate2Collection GetTrustBundle() => GetCurrent().TrustBundle;

    /// <summary>Raised once each time <see cref="GetCurrent"/> starts returning a new version.</summary>
    event EventHandler<CertificateCredentials>? CredentialsChanged;

    /// <summary>
    /// Raised once each time <see cref="GetTrustBundle"/> starts returning a different set of roots: a reload of
    /// the bundle, or the start or the end of a root handover. Connections listen to it so that one whose peer's
    /// chain ends in a root no longer trusted does not outlive that trust. A source whose bundle only changes with
    /// its credentials may leave it unraised, as the default does; <see cref="CredentialsChanged"/> is then the signal.
    /// </summary>
    event EventHandler? TrustBundleChanged
    {
        add { }
        remove { }
    }
}
