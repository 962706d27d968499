using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Certificates;

/// <summary>Options of the <see cref="SecretFolderCertificateSource"/>.</summary>
public sealed class SecretFolderOptions
{
    /// <summary>
    /// How often the folder is read and compared with the set in use. Defaults to 10 seconds (ours): kubelet
    /// itself takes up to a minute or more to project a Secret update, so polling faster gains little.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long one read of the three files may take before the poll gives up on it. Defaults to 5 seconds
    /// (ours): the files are small and local (a Secret volume is tmpfs), so a read that takes longer is stuck (a
    /// hung network or FUSE mount). A stuck read is not started again while it is pending: polls go on, report
    /// it once, and take the next valid update once the folder answers.
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock for validity checks, the poll timer and the read timeout. Defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where reloads and refused sets are logged. Defaults to none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Where reloads and refused sets are counted (the <c>Broker.Transport</c> meter). Defaults to null:
    /// a process-wide meter of that name.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }
}

/// <summary>
/// Certificates from a folder in Kubernetes Secret layout (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>),
/// as kubelet mounts a cert-manager Secret. The folder is polled and compared by content, never by
/// timestamp, because kubelet swaps a <c>..data</c> symlink and a watcher or a modification time misses
/// that. A changed set is validated before use (the key matches, it is valid now, it chains to
/// <c>ca.crt</c>); a partial or broken set is refused, logged once per cause, retried at the next poll, and
/// the last good set stays in use.
/// </summary>
/// <remarks>
/// Reading is bounded: regular files only (after following symlinks), each under a size limit
/// (<see cref="PemCredentials.MaxCertificateFileBytes"/> and its siblings), <c>ca.crt</c> under
/// <see cref="PemCredentials.MaxTrustBundleCertificates"/> roots. Each read runs off the poll's thread and
/// any lock, bounded by <see cref="SecretFolderOptions.ReadTimeout"/>; polls never overlap, and a read that
/// is stuck is waited for again, never started twice, so it costs one pending read however long it lasts.
/// </remarks>
public sealed partial class SecretFolderCertificateSource : ICertificateSource, IDisposable
{
    /// <summary>The symlink kubelet swaps to publish a Secret update (pkg/volume/util/atomic_writer.go).</summary>
    private const string DataLinkName = "..data";

    private readonly string _folder;
    private readonly SecretFolderOptions _options;
    private readonly CertificateLog _log;
    private readonly TransportMetrics _metrics;
    private readonly CredentialsSlot _slot;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private byte[] _goodHash;
    private string? _reportedCause;
    private Task<bool> _polling = Task.FromResult(false);
    private Task<FolderRead>? _pendingRead;
    private long _readsStarted;
    private volatile string? _reading;
    private volatile Exception? _lastError;

    private SecretFolderCertificateSource(string folder, SecretFolderOptions options, CertificateCredentials first, byte[] hash)
    {
        _folder = folder;
        _options = options;
        _log = CertificateLog.Create(options.LoggerFactory);
        _metrics = TransportMetrics.For(options.MeterFactory);
        _slot = new CredentialsSlot($"The Secret folder source for '{folder}'");
        _slot.Publish(this, first);
        _goodHash = hash;
        _timer = options.TimeProvider.CreateTimer(_ => Poll(), null, options.PollInterval, options.PollInterval);
    }

    /// <summary>Raised once each time a new, valid set replaces the one in use.</summary>
    public event EventHandler<CertificateCredentials>? CredentialsChanged
    {
        add => _slot.Changed += value;
        remove => _slot.Changed -= value;
    }

    /// <summary>The folder read.</summary>
    public string Folder => _folder;

    /// <summary>
    /// Why the folder's current content is not in use: a refused set, a file that cannot be read, a read that
    /// timed out. Null once a set was accepted after it, or the folder holds the set in use again.
    /// </summary>
    public Exception? LastError => _lastError;

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
    internal long ReadsStarted => Interlocked.Read(ref _readsStarted);

    /// <summary>Reads and validates the folder now, and starts polling it.</summary>
    /// <exception cref="CertificateLoadException">The folder or a file is missing, unreadable or invalid, or the read timed out; the message names it.</exception>
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

        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        var full = Path.GetFullPath(folder);
        string? reading = null;
        var read = Task.Run(() => Read(full, path => reading = path));
        FolderRead first;
        try
        {
            first = read.WaitAsync(options.ReadTimeout, options.TimeProvider).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            throw ReadTimedOut(full, reading, options.ReadTimeout);
        }

        var credentials = Validate(full, first.Pems, options.TimeProvider.GetUtcNow());
        return new SecretFolderCertificateSource(full, options, credentials, first.Hash);
    }

    /// <inheritdoc />
    public CertificateCredentials GetCurrent() => _slot.Get();

    /// <summary>Reads the folder now instead of at the next poll (after the poll running now, if any).</summary>
    /// <returns>Whether a new set was taken into use.</returns>
    public bool CheckNow() => PollAsync(skipIfBusy: false).GetAwaiter().GetResult();

    /// <summary>Stops polling. <see cref="GetCurrent"/> then fails with a clear error.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        _slot.Dispose();
    }

    private static DateTimeOffset UtcNotAfter(CertificateCredentials? credentials) => credentials?.NotAfter ?? DateTimeOffset.MinValue;

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
                Refuse(null, ex);
                done.SetResult(false);
            }
        }
    }

    private async Task<bool> PollOnceAsync()
    {
        if (!_slot.IsReady)
        {
            return false;
        }

        FolderRead read;
        try
        {
            read = await ReadAsync().ConfigureAwait(false);
        }
        catch (CertificateLoadException ex)
        {
            Refuse(null, ex);
            return false;
        }

        if (read.Hash.AsSpan().SequenceEqual(_goodHash))
        {
            // The folder holds the set in use (again): nothing stands refused.
            Accepted();
            return false;
        }

        CertificateCredentials credentials;
        try
        {
            credentials = Validate(_folder, read.Pems, _options.TimeProvider.GetUtcNow());
        }
        catch (CertificateLoadException ex)
        {
            Refuse(read.Hash, ex);
            return false;
        }

        CertificateCredentials? old;
        lock (_gate)
        {
            _goodHash = read.Hash;
            old = _slot.Peek();
        }

        Accepted();

        // The old version's facts are copies: its leaf is disposed once no handshake holds it.
        var (oldThumbprint, oldNotAfter) = (old?.Thumbprint ?? "none", UtcNotAfter(old));
        _slot.Publish(this, credentials);
        _log.FolderReloaded(_folder, oldThumbprint, oldNotAfter, credentials.Thumbprint, credentials.NotAfter);
        _metrics.Rotated(TransportMetrics.Tags.SecretFolder, TransportMetrics.Tags.Leaf, side: null);
        return true;
    }

    /// <summary>
    /// The folder's three files, read off this thread and bounded by the read timeout. A read still pending from
    /// an earlier poll is waited for again rather than started twice: a stuck read costs one pending read, however
    /// many polls pass. One that ended after its poll gave up is stale and read again.
    /// </summary>
    private async Task<FolderRead> ReadAsync()
    {
        Task<FolderRead> read;
        lock (_gate)
        {
            if (_pendingRead is { IsCompleted: false } pending)
            {
                read = pending;
            }
            else
            {
                _ = _pendingRead?.Exception; // observed: a stale read's failure is not news
                Interlocked.Increment(ref _readsStarted);
                read = _pendingRead = Task.Run(() => Read(_folder, path => _reading = path));
            }
        }

        try
        {
            var result = await read.WaitAsync(_options.ReadTimeout, _options.TimeProvider).ConfigureAwait(false);
            lock (_gate)
            {
                if (ReferenceEquals(_pendingRead, read))
                {
                    _pendingRead = null;
                }
            }

            return result;
        }
        catch (TimeoutException ex)
        {
            throw ReadTimedOut(_folder, _reading, _options.ReadTimeout, ex);
        }
    }

    private static CertificateLoadException ReadTimedOut(string folder, string? reading, TimeSpan timeout, TimeoutException? timedOut = null) => new(
        $"Reading the certificates in '{folder}' did not finish within {timeout.TotalSeconds:0.###} s (ReadTimeout); it was stuck on '{reading ?? folder}'. "
        + "A file whose reads block (a hung network or FUSE mount)? The read goes on in the background, no other starts until it ends, and the last good set stays in use.",
        timedOut);

    private void Accepted()
    {
        lock (_gate)
        {
            _reportedCause = null;
        }

        _lastError = null;
    }

    private void Refuse(byte[]? hash, Exception error)
    {
        // Reported once per distinct cause (the set and the reason), not at every poll; the set is still retried,
        // since one that is not valid yet (clock skew) becomes valid without changing.
        // A read that timed out is one cause, whichever file its message names (the read may be at another by now).
        var cause = error.InnerException is TimeoutException ? "read timed out" : (hash is null ? string.Empty : Convert.ToHexString(hash)) + "|" + error.Message;
        bool isNew;
        lock (_gate)
        {
            isNew = cause != _reportedCause;
            _reportedCause = cause;
        }

        _lastError = error;
        _metrics.RotationFailed(TransportMetrics.Tags.SecretFolder, TransportMetrics.Tags.Leaf, side: null);
        if (isNew)
        {
            _log.FolderRefused(_folder, _slot.Peek()?.Thumbprint ?? "none", error.Message);
        }
    }

    /// <summary>The three files' text and the hash they are compared by.</summary>
    private sealed record FolderRead((string Certificate, string Key, string Trust) Pems, byte[] Hash);
}
