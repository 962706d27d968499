using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

public sealed partial class SecretFolderCertificateSource
{
    // The trust this side holds, and the leaves it presents or holds back. One lock orders every change (a poll's,
    // the handover timer's) and the versions published with it.
    private readonly Lock _state = new();
    private readonly Dictionary<string, TrustedRoot> _roots = new(StringComparer.Ordinal);
    private readonly ITimer _handoverTimer;

    /// <summary>The roots the trust bundle names: the bundle file's, or the Secret's <c>ca.crt</c>.</summary>
    private X509Certificate2Collection _declared;
    private HeldLeaf _presented;
    private HeldLeaf? _pending;
    private DateTimeOffset _switchAt;
    private bool _switchCutShort;
    private volatile X509Certificate2Collection _trusted = [];
    private bool _disposed;

    /// <summary>
    /// Raised once each time <see cref="GetTrustBundle"/> starts returning a different set of roots: a reload that
    /// adds or removes one, a root handover's start (its new root) and its end (the roots it retires).
    /// </summary>
    public event EventHandler? TrustBundleChanged;

    /// <summary>
    /// A root handover in progress (see <see cref="SecretFolderOptions.RootHandover"/>): a leaf waiting for its
    /// switch, or roots that left the bundle and stay trusted a while. Null when none is.
    /// </summary>
    public RootHandoverStatus? Handover
    {
        get
        {
            lock (_state)
            {
                var retiring = _roots.Values
                    .Where(r => r.KeptUntil is not null)
                    .Select(r => new RetiringRoot(r.Certificate.Subject, r.Certificate.Thumbprint, r.KeptUntil!.Value))
                    .ToList();
                if (_pending is { } pending)
                {
                    // The root of the leaf presented now, once no longer presented nor declared, stays RootHandover more.
                    var root = _presented.Root;
                    if (!IsDeclared(root) && Key(root) != Key(pending.Root) && retiring.All(r => r.Thumbprint != root.Thumbprint))
                    {
                        retiring.Add(new RetiringRoot(root.Subject, root.Thumbprint, _switchAt + _options.RootHandover));
                    }
                }
                else if (retiring.Count == 0)
                {
                    return null;
                }

                var ends = retiring.Count == 0 ? _switchAt : retiring.Max(r => r.TrustedUntil);
                if (_pending is not null && ends < _switchAt)
                {
                    ends = _switchAt;
                }

                return new RootHandoverStatus(ends, _pending is null ? null : _switchAt, _presented.Thumbprint, _pending?.Thumbprint, [.. retiring.OrderBy(r => r.TrustedUntil)]);
            }
        }
    }

    /// <summary>
    /// The roots a peer's chain may end in now: the trust bundle's (the bundle file's, or the Secret's
    /// <c>ca.crt</c>), the root of the leaf this side presents and of one a handover holds back, and roots kept for
    /// <see cref="SecretFolderOptions.RootHandover"/> after they left.
    /// </summary>
    /// <exception cref="CertificateUnavailableException">The source was disposed.</exception>
    public X509Certificate2Collection GetTrustBundle()
    {
        _ = _slot.Get(); // the same clear error as GetCurrent after dispose
        return _trusted;
    }

    /// <summary>The leaf a handover holds back (for tests of key hygiene: its handle goes once it is dropped).</summary>
    internal X509Certificate2? PendingCertificate
    {
        get
        {
            lock (_state)
            {
                return _pending?.Leaf;
            }
        }
    }

    private static string Key(X509Certificate2 root) => root.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>A root for people: its subject (escaped) and thumbprint.</summary>
    private static string Describe(X509Certificate2 root) => $"{CertificateText.Escape(root.Subject)} ({root.Thumbprint})";

    private static string Describe(IEnumerable<X509Certificate2> roots)
    {
        var text = CertificateText.List(roots.Select(r => $"{r.Subject} ({r.Thumbprint})"), "; ");
        return text.Length == 0 ? "none" : text;
    }

    private bool IsDeclared(X509Certificate2 root)
    {
        var key = Key(root);
        return _declared.Any(r => Key(r) == key);
    }

    /// <summary>
    /// Works out the trusted set from the declared roots, the leaves presented and held back, and the roots kept: a
    /// root that stops being any of these is kept for <see cref="SecretFolderOptions.RootHandover"/> (at once gone
    /// with zero), a kept root whose time is up goes. Updates <see cref="_trusted"/> when it changed.
    /// </summary>
    private TrustChange Recompute(DateTimeOffset now)
    {
        var core = new Dictionary<string, X509Certificate2>(StringComparer.Ordinal);
        foreach (var root in _declared)
        {
            core.TryAdd(Key(root), root);
        }

        core.TryAdd(Key(_presented.Root), _presented.Root);
        if (_pending is { } pending)
        {
            core.TryAdd(Key(pending.Root), pending.Root);
        }

        var change = new TrustChange();
        foreach (var (key, root) in core)
        {
            if (_roots.TryGetValue(key, out var known))
            {
                known.KeptUntil = null; // named again: no longer leaving
            }
            else
            {
                _roots[key] = new TrustedRoot(root, now);
                change.Added.Add(root);
            }
        }

        var handover = _options.RootHandover;
        foreach (var (key, root) in _roots.ToList())
        {
            if (core.ContainsKey(key))
            {
                continue;
            }

            if (root.KeptUntil is null && handover > TimeSpan.Zero)
            {
                root.KeptUntil = now + handover;
                change.Kept.Add(root);
            }
            else if (root.KeptUntil is null || root.KeptUntil <= now)
            {
                _roots.Remove(key);
                change.Removed.Add(root.Certificate);
            }
        }

        if (change.Added.Count > 0 || change.Removed.Count > 0)
        {
            _trusted = [.. _roots.Values.Select(r => r.Certificate)];
        }

        return change;
    }

    /// <summary>Publishes what changed (a new version when the leaf or the trust did), tells the listeners, and arms the handover timer.</summary>
    private void Commit(TrustChange change, bool leafChanged, DateTimeOffset now)
    {
        if (leafChanged || change.TrustChanged)
        {
            _slot.Publish(this, _presented.Version(_trusted));
        }

        if (change.TrustChanged)
        {
            TrustBundleChanged?.Invoke(this, EventArgs.Empty);
        }

        DateTimeOffset? next = _pending is null ? null : _switchAt;
        foreach (var root in _roots.Values)
        {
            if (root.KeptUntil is { } until && (next is null || until < next))
            {
                next = until;
            }
        }

        _handoverTimer.Change(next is { } due ? TimerDue.Until(_options.TimeProvider, due) : Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A new trust bundle file's roots (<paramref name="file"/>: the file they were read from).</summary>
    private void TakeBundle(X509Certificate2Collection roots, string file, DateTimeOffset now)
    {
        var before = _declared;
        _declared = roots;
        var change = Recompute(now);
        LogDeclaredChange(before, file);
        Commit(change, leafChanged: false, now);
    }

    /// <summary>Logs (and counts) what a reload changed in the declared roots, by subject and thumbprint, and how long each removed one stays trusted.</summary>
    private void LogDeclaredChange(X509Certificate2Collection before, string source)
    {
        var beforeKeys = before.Select(Key).ToHashSet(StringComparer.Ordinal);
        var afterKeys = _declared.Select(Key).ToHashSet(StringComparer.Ordinal);
        var added = _declared.Where(r => !beforeKeys.Contains(Key(r))).ToList();
        var removed = before.Where(r => !afterKeys.Contains(Key(r))).ToList();
        if (added.Count == 0 && removed.Count == 0)
        {
            return;
        }

        var removedText = removed.Count == 0 ? "none" : CertificateText.List(removed.Select(r => $"{r.Subject} ({r.Thumbprint}), {Fate(r)}"), "; ");
        var addedText = Describe(added);
        _events.BundleReloaded(source, addedText, removedText);
        _events.Rotated(CertificateTags.SecretFolder, CertificateTags.TrustBundle, side: null);
    }

    /// <summary>How long a root that left the declared bundle stays trusted, in words.</summary>
    private string Fate(X509Certificate2 root)
    {
        if (!_roots.TryGetValue(Key(root), out var known))
        {
            return "no longer trusted";
        }

        if (known.KeptUntil is { } until)
        {
            return $"trusted until {until:u} (RootHandover)";
        }

        return $"trusted while this side's own certificate chains to it, and RootHandover ({_options.RootHandover}) after";
    }

    /// <summary>A root trusted now: since when (the handover's clock), and, once it left the bundle, until when.</summary>
    private sealed class TrustedRoot(X509Certificate2 certificate, DateTimeOffset since)
    {
        public X509Certificate2 Certificate { get; } = certificate;

        public DateTimeOffset Since { get; } = since;

        public DateTimeOffset? KeptUntil { get; set; }
    }

    /// <summary>What one change did to the trusted set.</summary>
    private sealed class TrustChange
    {
        public List<X509Certificate2> Added { get; } = [];

        public List<X509Certificate2> Removed { get; } = [];

        /// <summary>Roots that left the bundle just now and are kept for RootHandover.</summary>
        public List<TrustedRoot> Kept { get; } = [];

        public bool TrustChanged => Added.Count > 0 || Removed.Count > 0;
    }
}
