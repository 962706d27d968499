namespace Broker.Transport.Certificates;

/// <summary>
/// The one lifecycle every rotating source shares: not ready until it holds material, swapped atomically,
/// listeners told once per change, a clear error after dispose. (go-spiffe's x509source.) It owns the versions it
/// publishes: each replaced one (and the last, at dispose) is retired, and its leaf and key disposed once no
/// handshake holds it.
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

        var previous = Interlocked.Exchange(ref _current, credentials);
        Changed?.Invoke(sender, credentials);

        // The slot owns what it publishes: a replaced version is let go once no handshake holds it.
        if (!ReferenceEquals(previous, credentials))
        {
            previous?.Retire();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _current, null)?.Retire();
    }
}
