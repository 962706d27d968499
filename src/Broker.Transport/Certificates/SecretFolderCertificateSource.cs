using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// Certificates from a folder in Kubernetes Secret layout (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>),
/// as kubelet mounts a cert-manager Secret, and the trust bundle from that Secret's <c>ca.crt</c> or from a file
/// or folder of its own (<see cref="SecretFolderOptions.TrustBundlePath"/>: a ConfigMap a trust-manager
/// <c>Bundle</c> writes). Both are polled and compared by content, never by timestamp, because kubelet swaps a
/// <c>..data</c> symlink and a watcher or a modification time misses that. A changed set is validated before use
/// (the key matches, it is valid now, it chains to a root it names or this side trusts); a partial or broken set
/// is refused, logged once per cause, retried at the next poll, and the last good set stays in use.
/// </summary>
/// <remarks>
/// <para>
/// Reading is bounded: regular files only (after following symlinks), each under a size limit
/// (<see cref="PemCredentials.MaxCertificateFileBytes"/> and its siblings), a trust bundle under
/// <see cref="PemCredentials.MaxTrustBundleCertificates"/> roots. Each read runs off the poll's thread and
/// any lock, bounded by <see cref="SecretFolderOptions.ReadTimeout"/>; polls never overlap, and a read that
/// is stuck is waited for again, never started twice, so it costs one pending read however long it lasts.
/// </para>
/// <para>
/// A leaf whose chain ends in a root this side has not trusted for <see cref="SecretFolderOptions.RootHandover"/>
/// starts a root handover (<see cref="Handover"/>): the new root is trusted at once, the previous leaf stays in use
/// until the root has been trusted that long, and roots that leave the trust bundle stay trusted that long after.
/// </para>
/// </remarks>
public sealed partial class SecretFolderCertificateSource : ICertificateSource, IDisposable
{
    /// <summary>The symlink kubelet swaps to publish a Secret update (pkg/volume/util/atomic_writer.go).</summary>
    private const string DataLinkName = "..data";

    private readonly string _folder;
    private readonly string? _bundlePath;
    private readonly SecretFolderOptions _options;
    private readonly ICertificateEvents _events;
    private readonly CredentialsSlot _slot;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private readonly BoundedRead<FolderRead> _secretRead;
    private readonly BoundedRead<BundleRead>? _bundleRead;
    private readonly RefusalMemo _secretRefusals = new();
    private readonly RefusalMemo _bundleRefusals = new();
    private Task<bool> _polling = Task.FromResult(false);
    private byte[] _goodHash;
    private byte[]? _bundleHash;

    private SecretFolderCertificateSource(string folder, string? bundlePath, SecretFolderOptions options, BoundedRead<FolderRead> secretRead, BoundedRead<BundleRead>? bundleRead, FolderRead first, BundleRead? firstBundle, Identity identity, X509Certificate2Collection? bundleRoots)
    {
        _folder = folder;
        _bundlePath = bundlePath;
        _options = options;
        _events = CertificateEvents.For(options.LoggerFactory, options.MeterFactory);
        _slot = new CredentialsSlot($"The Secret folder source for '{folder}'");
        _secretRead = secretRead;
        _bundleRead = bundleRead;
        _goodHash = first.Hash;
        _bundleHash = firstBundle?.Hash;
        _handoverTimer = options.TimeProvider.CreateTimer(_ => OnHandoverDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_state)
        {
            _declared = bundleRoots ?? identity.SecretRoots;
            _presented = new HeldLeaf(identity.Leaf, identity.Intermediates, identity.Root);

            // What a side trusts at start counts as trusted long ago: it has no earlier leaf to present instead.
            Recompute(DateTimeOffset.MinValue);
            _slot.Publish(this, _presented.Version(_trusted));
        }

        _timer = options.TimeProvider.CreateTimer(_ => Poll(), null, options.PollInterval, options.PollInterval);
    }

    /// <summary>
    /// Raised once each time <see cref="GetCurrent"/> starts returning a new version: a new leaf (compare
    /// <see cref="CertificateCredentials.Thumbprint"/>), or the leaf in use with a new trust bundle.
    /// </summary>
    public event EventHandler<CertificateCredentials>? CredentialsChanged
    {
        add => _slot.Changed += value;
        remove => _slot.Changed -= value;
    }

    /// <summary>The folder read.</summary>
    public string Folder => _folder;

    /// <summary>The trust bundle read apart from the Secret (<see cref="SecretFolderOptions.TrustBundlePath"/>, made absolute); null when the Secret's <c>ca.crt</c> is the bundle.</summary>
    public string? TrustBundlePath => _bundlePath;

    /// <summary>
    /// Why the folder's current content is not in use: a refused set, a file that cannot be read, a read that
    /// timed out. Null once a set was accepted after it, or the folder holds the set in use again.
    /// </summary>
    public Exception? LastError => _secretRefusals.Last;

    /// <summary>Why the trust bundle's current content (<see cref="TrustBundlePath"/>) is not in use, as <see cref="LastError"/> for the folder.</summary>
    public Exception? LastTrustBundleError => _bundleRefusals.Last;

    /// <summary>The poll running now, or the last one (for tests on a fake clock: a poll's read runs on another thread).</summary>
    internal Task<bool> Polling
    {
        get
        {
            lock (_gate)
            {
                return _polling;
            }
        }
    }

    /// <summary>How many reads of the folder were started (a stuck one is waited for again, never started twice).</summary>
    internal long ReadsStarted => _secretRead.Started;

    /// <summary>How many reads of the trust bundle were started.</summary>
    internal long BundleReadsStarted => _bundleRead?.Started ?? 0;

    /// <summary>Reads and validates the folder (and the trust bundle, when one is given) now, and starts polling them.</summary>
    /// <exception cref="CertificateLoadException">The folder, the bundle or a file is missing, unreadable or invalid, or a read timed out; the message names it.</exception>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public static SecretFolderCertificateSource Open(string folder, SecretFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new SecretFolderOptions();
        if (options.PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SecretFolderOptions.PollInterval)} is {options.PollInterval}; it must be positive.", nameof(options));
        }

        if (options.ReadTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SecretFolderOptions.ReadTimeout)} is {options.ReadTimeout}; it must be positive.", nameof(options));
        }

        if (options.RootHandover < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SecretFolderOptions.RootHandover)} is {options.RootHandover}; it must be zero (switch at once) or positive.", nameof(options));
        }

        if (options.TrustBundlePath is { } given && string.IsNullOrWhiteSpace(given))
        {
            throw new ArgumentException($"{nameof(SecretFolderOptions.TrustBundlePath)} is empty; it must name a PEM file or a mounted ConfigMap's folder (or be null, for the Secret's ca.crt).", nameof(options));
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        var full = Path.GetFullPath(folder);
        var bundlePath = options.TrustBundlePath is { } path ? Path.GetFullPath(path) : null;
        var secretRead = new BoundedRead<FolderRead>(
            reading => Read(full, optionalTrust: bundlePath is not null, reading),
            $"the certificates in '{full}'", full, "the last good set stays in use", options.ReadTimeout, options.TimeProvider);
        BoundedRead<BundleRead>? bundleRead = null;
        BundleRead? firstBundle = null;
        X509Certificate2Collection? bundleRoots = null;
        if (bundlePath is not null)
        {
            bundleRead = new BoundedRead<BundleRead>(
                reading => TrustBundleFile.Read(bundlePath, reading),
                $"the trust bundle '{bundlePath}'", bundlePath, "the roots in use stay", options.ReadTimeout, options.TimeProvider);
            firstBundle = bundleRead.Read();
            bundleRoots = TrustBundleFile.Parse(firstBundle);
        }

        var first = secretRead.Read();
        var identity = Validate(full, first.Pems, options.TimeProvider.GetUtcNow(), bundleRoots);
        return new SecretFolderCertificateSource(full, bundlePath, options, secretRead, bundleRead, first, firstBundle, identity, bundleRoots);
    }

    /// <inheritdoc />
    public CertificateCredentials GetCurrent() => _slot.Get();

    /// <summary>Reads the folder (and the trust bundle) now instead of at the next poll (after the poll running now, if any).</summary>
    /// <returns>Whether a new set or bundle was taken into use (a leaf held back by a root handover counts).</returns>
    public bool CheckNow() => PollAsync(skipIfBusy: false).GetAwaiter().GetResult();

    /// <summary>Stops polling. <see cref="GetCurrent"/> then fails with a clear error.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        _handoverTimer.Dispose();
        lock (_state)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _slot.Dispose();
            _presented.Release();
            _pending?.Release();
        }
    }

    private void Poll() => _ = PollAsync(skipIfBusy: true);

    /// <summary>
    /// One poll, never two at once: the timer's poll is skipped while one runs (a stuck read is then reported
    /// by the poll waiting for it); <see cref="CheckNow"/> runs after it.
    /// </summary>
    private Task<bool> PollAsync(bool skipIfBusy)
    {
        Task<bool> previous;
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            previous = _polling;
            if (!previous.IsCompleted && skipIfBusy)
            {
                return Task.FromResult(false);
            }

            _polling = done.Task;
        }

        _ = RunAsync();
        return done.Task;

        async Task RunAsync()
        {
            try
            {
                await ((Task)previous).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                done.SetResult(await PollOnceAsync().ConfigureAwait(false));
            }
#pragma warning disable CA1031 // The poll must survive anything; the last good set stays in use.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                RefuseSecret(null, ex);
                done.SetResult(false);
            }
        }
    }

    /// <summary>
    /// Reads the trust bundle (when there is one) and the folder, each bounded (see <see cref="BoundedRead{T}"/>),
    /// then takes what changed: the bundle first, so that a Secret whose leaf chains to a root the same poll
    /// brought is judged against it.
    /// </summary>
    private async Task<bool> PollOnceAsync()
    {
        if (!_slot.IsReady)
        {
            return false;
        }

        BundleRead? bundle = null;
        if (_bundleRead is not null)
        {
            try
            {
                bundle = await _bundleRead.ReadAsync().ConfigureAwait(false);
            }
            catch (CertificateLoadException ex)
            {
                RefuseBundle(null, null, ex);
            }
        }

        FolderRead? secret = null;
        try
        {
            secret = await _secretRead.ReadAsync().ConfigureAwait(false);
        }
        catch (CertificateLoadException ex)
        {
            RefuseSecret(null, ex);
        }

        lock (_state)
        {
            if (_disposed)
            {
                return false;
            }

            var now = _options.TimeProvider.GetUtcNow();
            var taken = bundle is not null && TryTakeBundle(bundle, now);
            return (secret is not null && TryTakeSecret(secret, now)) || taken;
        }
    }

    private bool TryTakeBundle(BundleRead read, DateTimeOffset now)
    {
        if (_bundleHash is { } hash && read.Hash.AsSpan().SequenceEqual(hash))
        {
            // The bundle holds the roots in use (again): nothing stands refused.
            _bundleRefusals.Accepted();
            return false;
        }

        X509Certificate2Collection roots;
        try
        {
            roots = TrustBundleFile.Parse(read);
        }
        catch (CertificateLoadException ex)
        {
            RefuseBundle(read.File, read.Hash, ex);
            return false;
        }

        _bundleHash = read.Hash;
        _bundleRefusals.Accepted();
        TakeBundle(roots, read.File, now);
        return true;
    }

    private bool TryTakeSecret(FolderRead read, DateTimeOffset now)
    {
        if (read.Hash.AsSpan().SequenceEqual(_goodHash))
        {
            // The folder holds the set in use (again): nothing stands refused.
            _secretRefusals.Accepted();
            return false;
        }

        Identity identity;
        try
        {
            identity = Validate(_folder, read.Pems, now, _bundlePath is null ? null : _trusted);
        }
        catch (CertificateLoadException ex)
        {
            RefuseSecret(read.Hash, ex);
            return false;
        }

        _goodHash = read.Hash;
        _secretRefusals.Accepted();
        TakeSecret(identity, now);
        return true;
    }

    private void RefuseSecret(byte[]? hash, Exception error)
    {
        _events.RotationFailed(CertificateTags.SecretFolder, CertificateTags.Leaf, side: null);
        if (_secretRefusals.Refused(hash, error))
        {
            _events.FolderRefused(_folder, _slot.Peek()?.Thumbprint ?? "none", error.Message);
        }
    }

    /// <summary>A bundle refused (<paramref name="file"/>: the file it was read from) or unreadable (null: the path given).</summary>
    private void RefuseBundle(string? file, byte[]? hash, Exception error)
    {
        _events.RotationFailed(CertificateTags.SecretFolder, CertificateTags.TrustBundle, side: null);
        if (_bundleRefusals.Refused(hash, error))
        {
            _events.BundleRefused(file ?? _bundlePath ?? _folder, error.Message);
        }
    }

    /// <summary>The three files' text and the hash they are compared by.</summary>
    private sealed record FolderRead((string Certificate, string Key, string Trust) Pems, byte[] Hash);
}
