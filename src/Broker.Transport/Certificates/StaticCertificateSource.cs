namespace Broker.Transport.Certificates;

/// <summary>A source that always returns the same credentials: loaded once, never rotated.</summary>
public sealed class StaticCertificateSource : ICertificateSource
{
    private readonly CertificateCredentials _credentials;

    /// <summary>Serves <paramref name="credentials"/> to every handshake.</summary>
    public StaticCertificateSource(CertificateCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _credentials = credentials;
    }

    /// <summary>Never raised: this source does not change.</summary>
    public event EventHandler<CertificateCredentials>? CredentialsChanged
    {
        add { }
        remove { }
    }

    /// <summary>Loads <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> from a folder once.</summary>
    /// <exception cref="CertificateLoadException">A file is missing or broken; the message names it.</exception>
    public static StaticCertificateSource FromFolder(string folder) => new(PemCredentials.LoadFolder(folder));

    /// <summary>Loads three PEM files once.</summary>
    /// <exception cref="CertificateLoadException">A file is missing or broken; the message names it.</exception>
    public static StaticCertificateSource FromPemFiles(string certificatePath, string keyPath, string trustBundlePath)
        => new(PemCredentials.LoadFiles(certificatePath, keyPath, trustBundlePath));

    /// <inheritdoc />
    public CertificateCredentials GetCurrent() => _credentials;
}
