namespace Broker.Transport.Certificates;

/// <summary>
/// The one lifecycle every rotating source shares: not ready until it holds material, swapped atomically,
/// listeners told once per change, a clear error after dispose. (go-spiffe's x509source.)
/// </summary>
internal sealed class CredentialsSlot(string sourceName)
{
    private CertificateCredentials? _current;
    private volatile bool _disposed;

    public event EventHandler<CertificateCredentials>? Changed;

    public bool IsReady => !_disposed && Volatile.Read(ref _current) is not null;

    /// <summary>The credentials published last, or null before the first.</summary>
    public CertificateCredentials? Peek() => Volatile.Read(ref _current);

    public CertificateCredentials Get()
    {
        if (_disposed)
        {
            throw new CertificateUnavailableException($"{sourceName} was disposed; it serves no more certificates.");
        }

        return Volatile.Read(ref _current)
            ?? throw new CertificateUnavailableException($"{sourceName} holds no certificate yet.");
    }

    /// <summary>Makes <paramref name="credentials"/> current for every handshake from now on, then tells the listeners.</summary>
    public void Publish(object sender, CertificateCredentials credentials)
    {
        if (_disposed)
        {
            return;
        }

        Volatile.Write(ref _current, credentials);
        Changed?.Invoke(sender, credentials);
    }

    public void Dispose() => _disposed = true;
}
