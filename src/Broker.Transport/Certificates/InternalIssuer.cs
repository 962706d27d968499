using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// The embedded issuer, the default on one machine: an internal root CA made in process that issues the
/// backend's and the frontend's leaves and renews them with cert-manager's semantics (<c>duration</c>,
/// <c>renewBefore</c>, <c>privateKey.algorithm</c>, <c>privateKey.rotationPolicy</c>). Its
/// <see cref="Backend"/> and <see cref="Frontend"/> sources hand each new handshake the current leaf.
/// </summary>
/// <remarks>
/// The root renews too, at 2/3 of its lifetime. The new root enters the trust bundle before any leaf it
/// signs is handed out, and the old root leaves the bundle only once every leaf it signed has expired:
/// the overlap cert-manager leaves to operators. Nothing here touches the disk, and no key is logged.
/// Both sides must use the same issuer (one process); across processes use a Secret folder per side.
/// </remarks>
public sealed partial class InternalIssuer : IDisposable
{
    /// <summary>The longest a timer is armed for (see <see cref="TimerDue.MaxWait"/>).</summary>
    internal static readonly TimeSpan MaxTimerWait = TimerDue.MaxWait;

    private readonly InternalIssuerOptions _options;
    private readonly TimeProvider _time;
    private readonly ICertificateEvents _events;
    private readonly Lock _gate = new();
    private readonly IssuedSide _backend;
    private readonly IssuedSide _frontend;
    private readonly List<IssuingRoot> _retiring = [];
    private readonly ITimer _rootTimer;
    private int _rootFailures;
    private readonly ITimer _retireTimer;
    private IssuingRoot _root;
    private bool _disposed;

    private InternalIssuer(InternalIssuerOptions options, Func<PrivateKeyAlgorithm, AsymmetricAlgorithm>? keyFactory)
    {
        _options = options;
        _time = options.TimeProvider;
        _events = CertificateEvents.For(options.LoggerFactory, options.MeterFactory);
        KeyFactory = keyFactory ?? CertificateIssuance.CreateKey;
        _rootTimer = _time.CreateTimer(_ => OnRootTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _retireTimer = _time.CreateTimer(_ => OnRetireDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _backend = new IssuedSide(this, "backend", options.BackendNames, server: true);
        _frontend = new IssuedSide(this, "frontend", options.FrontendNames, server: false);
        lock (_gate)
        {
            _root = CreateRoot(Now());
            _backend.Issue(_root, Now());
            _frontend.Issue(_root, Now());
        }
    }

    /// <summary>The backend's certificate source: its current leaf (server authentication) and the trust bundle.</summary>
    public ICertificateSource Backend => _backend.Source;

    /// <summary>The frontend's certificate source: its current leaf (client authentication) and the trust bundle.</summary>
    public ICertificateSource Frontend => _frontend.Source;

    /// <summary>The root that signs new leaves now (the certificate alone: its key never leaves the issuer).</summary>
    public X509Certificate2 Root
    {
        get
        {
            lock (_gate)
            {
                return _root.Certificate;
            }
        }
    }

    /// <summary>The roots peers are trusted by now: the current root, and older roots while leaves they signed may be in use.</summary>
    public X509Certificate2Collection TrustBundle
    {
        get
        {
            lock (_gate)
            {
                return Bundle();
            }
        }
    }

    /// <summary>When the root is due for renewal.</summary>
    public DateTimeOffset RootRenewalTime
    {
        get
        {
            lock (_gate)
            {
                return _root.RenewAt;
            }
        }
    }

    /// <summary>Makes keys; a test may make it fail to prove that a failed renewal is retried.</summary>
    internal Func<PrivateKeyAlgorithm, AsymmetricAlgorithm> KeyFactory { get; set; }

    internal IssuedSide BackendSide => _backend;

    internal IssuedSide FrontendSide => _frontend;

    /// <summary>Creates the root and both leaves now, and schedules their renewals.</summary>
    /// <exception cref="ArgumentException">The options are invalid (Ed25519 among them); the message names the field.</exception>
    public static InternalIssuer Start(InternalIssuerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new InternalIssuer(options, keyFactory: null);
    }

    /// <summary>Stops renewing. The sources then refuse to serve, with a clear error.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;

            // Under the lock: a renewal that is running uses the sides' keys and the root's.
            _backend.Dispose();
            _frontend.Dispose();
            _root.Signer.Dispose();
        }

        _rootTimer.Dispose();
        _retireTimer.Dispose();
    }

    /// <summary>Now, to the second: X.509 validity has no finer precision.</summary>
    private DateTimeOffset Now()
    {
        var now = _time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
    }

    private X509Certificate2Collection Bundle()
    {
        var bundle = new X509Certificate2Collection(_root.Certificate);
        foreach (var old in _retiring)
        {
            bundle.Add(old.Certificate);
        }

        return bundle;
    }

    private IssuingRoot CreateRoot(DateTimeOffset now)
    {
        using var key = KeyFactory(_options.Policy.Algorithm);
        var notAfter = now + _options.EffectiveCaDuration;
        var signer = CertificateIssuance.CreateRoot(_options.CaName, key, now, notAfter);

        var renewAt = RootRenewal.At(now, notAfter);
        _rootTimer.Change(Until(renewAt), Timeout.InfiniteTimeSpan);
        return new IssuingRoot(signer, renewAt);
    }

    /// <summary>How long to arm a timer for <paramref name="when"/> (see <see cref="TimerDue.Until"/>).</summary>
    private TimeSpan Until(DateTimeOffset when) => TimerDue.Until(_time, when);

    /// <summary>A root that signed leaves, and when the last of them expires.</summary>
    internal sealed class IssuingRoot(X509Certificate2 signer, DateTimeOffset renewAt)
    {
        /// <summary>The root with its private key: signs leaves while the root is current; disposed when it rolls over.</summary>
        public X509Certificate2 Signer { get; } = signer;

        /// <summary>The root alone, without its key: what trust bundles and callers get.</summary>
        public X509Certificate2 Certificate { get; } = X509CertificateLoader.LoadCertificate(signer.RawData);

        public DateTimeOffset RenewAt { get; } = renewAt;

        public DateTimeOffset LastLeafExpiry { get; set; } = DateTimeOffset.MinValue;
    }
}
