
namespace Broker.Transport.Certificates;

public sealed partial class SecretFolderCertificateSource
{
    /// <summary>
    /// A new, valid Secret. Its leaf is presented at once when the root it chains to has been trusted here for
    /// <see cref="SecretFolderOptions.RootHandover"/> (peers have had the time to trust it too); otherwise it waits
    /// until then while the previous leaf is presented (a root handover), unless that leaf has expired. An update
    /// during a handover replaces the leaf waiting, or, when its leaf chains to a root trusted long enough, ends
    /// the wait at once.
    /// </summary>
    private void TakeSecret(Identity next, DateTimeOffset now)
    {
        var declaredBefore = _declared;
        if (_bundlePath is null)
        {
            _declared = next.SecretRoots;
        }

        var handover = _options.RootHandover;
        var old = _presented;
        var trustedBefore = _roots.ContainsKey(Key(next.Root));
        HeldLeaf? dropped = null;
        string? outcome = null;
        Action? log = null;
        List<System.Security.Cryptography.X509Certificates.X509Certificate2> removed = [];
        var leafChanged = false;
        var isPresented = old.IsSame(next.Leaf);

        if (isPresented || (_pending is { } waiting && waiting.IsSame(next.Leaf)))
        {
            // The same leaf as one already held: only the trust bundle may have changed.
            next.Discard();
            if (_pending is { } called && isPresented)
            {
                // The Secret went back to the leaf presented: the handover is called off.
                (dropped, _pending) = (called, null);
                outcome = $"the Secret holds the certificate in use again ({old.Thumbprint}), which stays in use.";
            }
        }
        else if (handover == TimeSpan.Zero || Matured(next.Root, now))
        {
            var held = new HeldLeaf(next.Leaf, next.Intermediates, next.Root);
            if (_pending is { } replaced)
            {
                (dropped, _pending) = (replaced, null);
                outcome = $"the new certificate {held.Thumbprint} chains to {Describe(held.Root)}, trusted here long enough, and is in use now.";
            }

            _presented = held;
            leafChanged = true;
            log = handover == TimeSpan.Zero && !trustedBefore
                ? () =>
                {
                    var (root, gone) = (Describe(held.Root), Describe(removed));
                    _events.SwitchedAtOnce(_folder, held.Thumbprint, root, old.Thumbprint, gone);
                    _events.HandoverStep(CertificateTags.AtOnce);
                }
                : () => _events.FolderReloaded(_folder, old.Thumbprint, old.NotAfter, held.Thumbprint, held.NotAfter);
        }
        else
        {
            var held = new HeldLeaf(next.Leaf, next.Intermediates, next.Root);
            var rootSince = _roots.TryGetValue(Key(held.Root), out var known) ? known.Since : now;
            var matures = rootSince + handover;
            if (_pending is { } replaced)
            {
                (dropped, _pending) = (replaced, null);
                outcome = $"the new certificate {held.Thumbprint} from {Describe(held.Root)} waits in its place.";
            }

            if (now >= old.NotAfter)
            {
                // Nothing valid to present meanwhile: the new leaf now, for the peers that already trust its root.
                _presented = held;
                leafChanged = true;
                log = () =>
                {
                    var root = Describe(held.Root);
                    _events.HandoverCutShort(_folder, old.Thumbprint, old.NotAfter, matures, held.Thumbprint, root);
                    _events.HandoverStep(CertificateTags.CutShort);
                };
            }
            else
            {
                _pending = held;
                _switchCutShort = old.NotAfter < matures;
                _switchAt = _switchCutShort ? old.NotAfter : matures;
                log = () =>
                {
                    var root = Describe(held.Root);
                    _events.HandoverStarted(_folder, held.Thumbprint, root, rootSince, old.Thumbprint, _switchAt, handover);
                    _events.HandoverStep(CertificateTags.Started);
                };
            }
        }

        var change = Recompute(now);
        removed = change.Removed;
        if (!ReferenceEquals(old, _presented))
        {
            old.Release();
            _events.Rotated(CertificateTags.SecretFolder, CertificateTags.Leaf, side: null);
        }

        if (_bundlePath is null)
        {
            LogDeclaredChange(declaredBefore, Path.Combine(_folder, PemCredentials.TrustBundleFileName));
        }

        if (dropped is not null)
        {
            dropped.Release();
            _events.HandoverInterrupted(_folder, dropped.Thumbprint, outcome!);
            _events.HandoverStep(CertificateTags.Interrupted);
        }

        log?.Invoke();
        LogRetired(change);
        Commit(change, leafChanged, now);
    }

    /// <summary>Whether <paramref name="root"/> has been trusted here for RootHandover: peers whose updates came at most that much later trust it too.</summary>
    private bool Matured(System.Security.Cryptography.X509Certificates.X509Certificate2 root, DateTimeOffset now)
        => _roots.TryGetValue(Key(root), out var known) && known.Since + _options.RootHandover <= now;

    /// <summary>The handover timer: the switch is due, or a kept root's time is up.</summary>
    private void OnHandoverDue()
    {
        lock (_state)
        {
            if (_disposed)
            {
                return;
            }

            var now = _options.TimeProvider.GetUtcNow();
            HeldLeaf? old = null;
            if (_pending is { } pending && now >= _switchAt)
            {
                old = _presented;
                (_presented, _pending) = (pending, null);
            }

            var change = Recompute(now);
            if (old is not null)
            {
                old.Release();
                _events.Rotated(CertificateTags.SecretFolder, CertificateTags.Leaf, side: null);
                if (_switchCutShort)
                {
                    var root = Describe(_presented.Root);
                    _events.HandoverCutShort(_folder, old.Thumbprint, old.NotAfter, _switchAt, _presented.Thumbprint, root);
                    _events.HandoverStep(CertificateTags.CutShort);
                }
                else
                {
                    var ends = _roots.Values.Select(r => r.KeptUntil ?? now).DefaultIfEmpty(now).Max();
                    var root = Describe(_presented.Root);
                    _events.HandoverSwitched(_folder, _presented.Thumbprint, _presented.NotAfter, root, old.Thumbprint, ends);
                    _events.HandoverStep(CertificateTags.Switched);
                }
            }

            LogRetired(change);
            Commit(change, leafChanged: old is not null, now);
        }
    }

    /// <summary>Logs the roots whose RootHandover after they left is over (none with zero: those went with the change that removed them).</summary>
    private void LogRetired(TrustChange change)
    {
        if (change.Removed.Count == 0 || _options.RootHandover == TimeSpan.Zero)
        {
            return;
        }

        var finished = _pending is null && _roots.Values.All(r => r.KeptUntil is null) ? " The root handover is over." : string.Empty;
        var roots = Describe(change.Removed);
        _events.RootsRetired(_folder, roots, _options.RootHandover, finished);
        _events.HandoverStep(CertificateTags.Retired);
    }
}
