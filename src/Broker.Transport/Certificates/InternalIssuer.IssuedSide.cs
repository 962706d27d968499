using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

public sealed partial class InternalIssuer
{
    /// <summary>One identity the issuer keeps a leaf for: its key, its leaf, its renewal timer and its source.</summary>
    internal sealed class IssuedSide : ICertificateSource
    {
        private readonly InternalIssuer _issuer;
        private readonly string _role;
        private readonly IReadOnlyList<string> _names;
        private readonly bool _server;
        private readonly CredentialsSlot _slot;
        private readonly ITimer _timer;
        private AsymmetricAlgorithm? _key;
        private OwnedLeaf? _owned;
        private int _failures;

        public IssuedSide(InternalIssuer issuer, string role, IEnumerable<string> names, bool server)
        {
            _issuer = issuer;
            _role = role;
            _names = [.. names];
            _server = server;
            _slot = new CredentialsSlot($"The internal issuer's {role} source");
            _timer = issuer._time.CreateTimer(_ => OnDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public event EventHandler<CertificateCredentials>? CredentialsChanged
        {
            add => _slot.Changed += value;
            remove => _slot.Changed -= value;
        }

        public ICertificateSource Source => this;

        /// <summary>The current leaf.</summary>
        public X509Certificate2? Leaf { get; private set; }

        /// <summary>When the current leaf is due for renewal (jitter applied).</summary>
        public DateTimeOffset RenewAt { get; private set; }

        public CertificateCredentials GetCurrent() => _slot.Get();

        /// <summary>Issues a new leaf from <paramref name="root"/>, publishes it and schedules its renewal. Throws on failure.</summary>
        public void Issue(IssuingRoot root, DateTimeOffset now)
        {
            var options = _issuer._options;
            var key = _key;
            if (key is null || options.Policy.RotationPolicy == RotationPolicy.Always)
            {
                // Always: a new key at every renewal. Never: the first key for good.
                key = _issuer.KeyFactory(options.Policy.Algorithm);
            }

            var (dnsNames, uris, addresses) = SubjectName.Sort(_names);
            var spec = new LeafSpec(_names[0], now, now + options.Policy.Duration)
            {
                DnsNames = dnsNames,
                Uris = uris,
                IPAddresses = addresses,
                ServerAuthentication = _server,
                ClientAuthentication = !_server,
            };
            var previous = Leaf is { } old ? (old.Thumbprint, NotAfter: new DateTimeOffset(old.NotAfter.ToUniversalTime(), TimeSpan.Zero)) : default((string Thumbprint, DateTimeOffset NotAfter)?);
            X509Certificate2 leaf;
            try
            {
                leaf = CertificateIssuance.IssueLeaf(root.Signer, key, spec);
            }
            catch
            {
                if (!ReferenceEquals(key, _key))
                {
                    key.Dispose();
                }

                throw;
            }

            // The leaf holds its own handle to the key (CopyWithPrivateKey), so a replaced key object goes now.
            if (!ReferenceEquals(key, _key))
            {
                _key?.Dispose();
                _key = key;
            }

            var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (notAfter > root.LastLeafExpiry)
            {
                root.LastLeafExpiry = notAfter;
            }

            Leaf = leaf;
            _owned = new OwnedLeaf(leaf, null);
            _failures = 0;
            RenewAt = Jitter(notBefore, options.Policy.RenewalTime(notBefore, notAfter), notAfter);
            var thumbprint = leaf.Thumbprint;

            // The previous leaf is disposed once no handshake uses it: from here on only copies of it are read.
            _slot.Publish(this, new CertificateCredentials(leaf, null, _issuer.Bundle(), _owned));
            _timer.Change(_issuer.Until(RenewAt), Timeout.InfiniteTimeSpan);
            if (previous is { } before)
            {
                _issuer._events.LeafRenewed(_role, before.Thumbprint, before.NotAfter, thumbprint, notAfter);
                _issuer._events.Rotated(CertificateTags.Issuer, CertificateTags.Leaf, _role);
            }
        }

        /// <summary>Renews now from the current root; a failure is logged and retried with backoff.</summary>
        public void Renew()
        {
            try
            {
                Issue(_issuer._root, _issuer.Now());
            }
#pragma warning disable CA1031 // Any failure is retried; the current leaf stays in use meanwhile.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _failures++;
                var delay = _issuer._options.RetryDelayAfter(_failures);
                _issuer._events.RenewalFailed(_role, _failures, delay, ex.Message);
                _issuer._events.RotationFailed(CertificateTags.Issuer, CertificateTags.Leaf, _role);
                _timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>Publishes the current leaf again with the current trust bundle (after a root change).</summary>
        public void Republish()
        {
            if (Leaf is not null)
            {
                _slot.Publish(this, new CertificateCredentials(Leaf, null, _issuer.Bundle(), _owned));
            }
        }

        public void Dispose()
        {
            _timer.Dispose();
            _slot.Dispose();
            _key?.Dispose();
            _key = null;
        }

        private void OnDue()
        {
            lock (_issuer._gate)
            {
                if (_issuer._disposed)
                {
                    return;
                }

                // A long wait is armed in steps (MaxTimerWait): not due yet, wait on. A retry is always due.
                if (_issuer._time.GetUtcNow() < RenewAt)
                {
                    _timer.Change(_issuer.Until(RenewAt), Timeout.InfiniteTimeSpan);
                    return;
                }

                Renew();
            }
        }

        /// <summary>
        /// cert-manager's renewal point, moved earlier by a random part of <see cref="InternalIssuerOptions.RenewalJitter"/>
        /// of the time left after it, or of the time since issuance when that is shorter: with a renewBefore close to
        /// the lifetime, the time left would reach back before issuance, and a leaf due when it is issued is renewed
        /// again at once, over and over (a burst of leaves, a key each, until a draw lands in the future).
        /// </summary>
        private DateTimeOffset Jitter(DateTimeOffset notBefore, DateTimeOffset renewal, DateTimeOffset notAfter)
        {
            var span = TimeSpan.FromTicks(Math.Min((notAfter - renewal).Ticks, (renewal - notBefore).Ticks));
            var window = (long)(span.Ticks * _issuer._options.RenewalJitter / TimeSpan.TicksPerSecond);
            if (window <= 0)
            {
                return renewal;
            }

            var seconds = RandomNumberGenerator.GetInt32((int)Math.Min(window, int.MaxValue) + 1);
            return renewal.AddSeconds(-seconds);
        }
    }
}
