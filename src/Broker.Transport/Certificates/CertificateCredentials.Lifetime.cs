namespace Broker.Transport.Certificates;

public sealed partial class CertificateCredentials
{
    // Leases: the handshakes using this version now. Disposing a replaced leaf is safe once none does: an
    // established connection's OpenSSL objects hold references of their own to the certificate and the key
    // (pinned by Security/KeyHygieneTests, which rotates under open connections and handshakes).
    private const int Finished = -1;

    private readonly OwnedLeaf? _owner;
    private int _leases;
    private volatile bool _retired;

    /// <summary>Whether a source retired this version and no handshake holds it any more (its leaf may be disposed).</summary>
    internal bool IsFinished => Volatile.Read(ref _leases) == Finished;

    /// <summary>
    /// Holds this version for a handshake; false once it was retired and let go, when the caller must ask its
    /// source again. Every true is followed by one <see cref="Release"/>.
    /// </summary>
    internal bool TryAcquire()
    {
        while (true)
        {
            var leases = Volatile.Read(ref _leases);
            if (leases == Finished)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _leases, leases + 1, leases) == leases)
            {
                return true;
            }
        }
    }

    /// <summary>The handshake that acquired this version is over.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && _retired)
        {
            Finish();
        }
    }

    /// <summary>
    /// The source's current version, held for a handshake (<see cref="Release"/> it after). A version replaced
    /// and let go between the read and the hold is never used: the source is asked again.
    /// </summary>
    /// <exception cref="CertificateUnavailableException">The source holds no usable material.</exception>
    internal static CertificateCredentials Acquire(ICertificateSource source)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = source.GetCurrent();
            if (current.TryAcquire())
            {
                return current;
            }

            // Only a source that keeps handing out a version it already let go gets here.
            if (attempt == 100)
            {
                throw new CertificateUnavailableException($"The certificate source returned only versions it had already retired (last: {current.Version}).");
            }
        }
    }

    /// <summary>Its source replaced this version (or closed): once no handshake holds it, what it owns is let go.</summary>
    internal void Retire()
    {
        _retired = true;
        Finish();
    }

    private void Finish()
    {
        if (Interlocked.CompareExchange(ref _leases, Finished, 0) == 0)
        {
            _owner?.LetGo();
        }
    }
}

/// <summary>
/// A leaf (with its private key) and its intermediates that one or more credential versions share (the issuer
/// republishes its leaf with every new trust bundle): disposed when the last version holding them is finished.
/// </summary>
internal sealed class OwnedLeaf(System.Security.Cryptography.X509Certificates.X509Certificate2 leaf, System.Security.Cryptography.X509Certificates.X509Certificate2Collection? intermediates)
{
    private int _holders;

    /// <summary>Whether the leaf was disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _holders) < 0;

    public void Hold() => Interlocked.Increment(ref _holders);

    public void LetGo()
    {
        if (Interlocked.Decrement(ref _holders) != 0)
        {
            return;
        }

        Volatile.Write(ref _holders, int.MinValue);
        leaf.Dispose();
        if (intermediates is not null)
        {
            foreach (var intermediate in intermediates)
            {
                intermediate.Dispose();
            }
        }
    }
}
