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

    /// <inheritdoc />
    public CertificateCredentials GetCurrent() => _credentials;
}
