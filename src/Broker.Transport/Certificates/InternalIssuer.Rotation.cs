
namespace Broker.Transport.Certificates;

public sealed partial class InternalIssuer
{
    /// <summary>
    /// Renews both leaves now, as <c>cmctl renew</c> does, instead of at their renewal time: new handshakes get
    /// the new leaves, open connections keep theirs. With <see cref="RotationPolicy.Always"/> the keys are new too.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The issuer was disposed.</exception>
    internal void RenewNow()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _backend.Issue(_root, Now());
            _frontend.Issue(_root, Now());
        }
    }

    /// <summary>
    /// Rolls the root over now instead of at its renewal time: a new root, both roots trusted, both leaves
    /// re-issued from the new root; the old root leaves the bundle when its last leaf expires.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The issuer was disposed.</exception>
    internal void RollOverRootNow()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }

        OnRootDue();
    }

    /// <summary>The root's timer fired: roll over if the root is due, else (a long wait is armed in steps) wait on.</summary>
    private void OnRootTimer()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_time.GetUtcNow() < _root.RenewAt)
            {
                _rootTimer.Change(Until(_root.RenewAt), Timeout.InfiniteTimeSpan);
                return;
            }

            OnRootDue();
        }
    }

    /// <summary>The root is due: make a new one, trust both, re-issue both leaves from the new one.</summary>
    private void OnRootDue()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var old = _root;
            IssuingRoot next;
            try
            {
                next = CreateRoot(Now());
            }
#pragma warning disable CA1031 // Any failure is retried; the current root stays in use meanwhile.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // Backs off as a leaf renewal does, so a persistent fault (say, no entropy or a broken
                // crypto provider) does not spin a core making roots that fail.
                _rootFailures++;
                _events.RootRolloverFailed(old.Certificate.Thumbprint, ex.Message);
                _events.RotationFailed(CertificateTags.Issuer, CertificateTags.Root, side: null);
                _rootTimer.Change(_options.RetryDelayAfter(_rootFailures), Timeout.InfiniteTimeSpan);
                return;
            }

            _rootFailures = 0;

            _root = next;
            _retiring.Add(old);
            _events.RootRolloverStarted(old.Certificate.Thumbprint, next.Certificate.Thumbprint, old.LastLeafExpiry);
            _events.Rotated(CertificateTags.Issuer, CertificateTags.Root, side: null);

            // First every side trusts both roots, with its current leaf; only then do leaves from the new
            // root appear, so no handshake ever meets a leaf its peer's bundle does not cover.
            _backend.Republish();
            _frontend.Republish();
            _backend.Renew();
            _frontend.Renew();

            // The old root signs nothing more: its key goes now (its certificate stays trusted until retirement).
            old.Signer.Dispose();
            ScheduleRetirement();
        }
    }

    /// <summary>An old root's last leaf has expired: drop it from the bundle.</summary>
    private void OnRetireDue()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            var retired = _retiring.RemoveAll(root =>
            {
                var done = root.LastLeafExpiry <= now;
                if (done)
                {
                    _events.RootRetired(root.Certificate.Thumbprint);
                }

                return done;
            });
            if (retired > 0)
            {
                _backend.Republish();
                _frontend.Republish();
            }

            ScheduleRetirement();
        }
    }

    private void ScheduleRetirement()
    {
        if (_retiring.Count == 0)
        {
            _retireTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var next = _retiring.Min(root => root.LastLeafExpiry);
        _retireTimer.Change(Until(next), Timeout.InfiniteTimeSpan);
    }
}
