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

    /// <summary>The clock for validity checks and the poll timer. Defaults to <see cref="TimeProvider.System"/>.</summary>
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
/// <c>ca.crt</c>); a partial or broken set is refused, logged, retried at the next poll, and the last good
/// set stays in use.
/// </summary>
public sealed class SecretFolderCertificateSource : ICertificateSource, IDisposable
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
    private byte[]? _refusedHash;

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

    /// <summary>Why the last changed set was refused; null once a set was accepted after it.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Reads and validates the folder now, and starts polling it.</summary>
    /// <exception cref="CertificateLoadException">The folder or a file is missing, unreadable or invalid; the message names it.</exception>
    public static SecretFolderCertificateSource Open(string folder, SecretFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new SecretFolderOptions();
        if (options.PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SecretFolderOptions.PollInterval)} is {options.PollInterval}; it must be positive.", nameof(options));
        }

        var full = Path.GetFullPath(folder);
        var (pems, hash) = Read(full);
        var credentials = Validate(full, pems, options.TimeProvider.GetUtcNow());
        return new SecretFolderCertificateSource(full, options, credentials, hash);
    }

    /// <inheritdoc />
    public CertificateCredentials GetCurrent() => _slot.Get();

    /// <summary>Reads the folder now instead of at the next poll.</summary>
    /// <returns>Whether a new set was taken into use.</returns>
    public bool CheckNow()
    {
        lock (_gate)
        {
            (string Certificate, string Key, string Trust) pems;
            byte[] hash;
            try
            {
                (pems, hash) = Read(_folder);
            }
            catch (CertificateLoadException ex)
            {
                Refuse(null, ex);
                return false;
            }

            if (hash.AsSpan().SequenceEqual(_goodHash))
            {
                return false;
            }

            try
            {
                var credentials = Validate(_folder, pems, _options.TimeProvider.GetUtcNow());
                _goodHash = hash;
                _refusedHash = null;
                LastError = null;
                var old = _slot.Peek()?.Certificate;
                _slot.Publish(this, credentials);
                var leaf = credentials.Certificate;
                var (oldNotAfter, newNotAfter) = (UtcNotAfter(old), UtcNotAfter(leaf));
                _log.FolderReloaded(_folder, old?.Thumbprint ?? "none", oldNotAfter, leaf.Thumbprint, newNotAfter);
                _metrics.Rotated(TransportMetrics.Tags.SecretFolder, TransportMetrics.Tags.Leaf, side: null);
                return true;
            }
            catch (CertificateLoadException ex)
            {
                Refuse(hash, ex);
                return false;
            }
        }
    }

    /// <summary>Stops polling. <see cref="GetCurrent"/> then fails with a clear error.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        _slot.Dispose();
    }

    private static DateTimeOffset UtcNotAfter(X509Certificate2? certificate)
        => certificate is null ? DateTimeOffset.MinValue : new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    private void Poll()
    {
        try
        {
            CheckNow();
        }
#pragma warning disable CA1031 // The poll must survive anything; the last good set stays in use.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Refuse(null, ex);
        }
    }

    private void Refuse(byte[]? hash, Exception error)
    {
        // Log a broken set once, not at every poll; it is still retried, since a set that is not valid yet
        // (clock skew) becomes valid without changing.
        var isNew = hash is null || _refusedHash is null || !hash.AsSpan().SequenceEqual(_refusedHash) || LastError?.Message != error.Message;
        _refusedHash = hash;
        LastError = error;
        _metrics.RotationFailed(TransportMetrics.Tags.SecretFolder, TransportMetrics.Tags.Leaf, side: null);
        if (isNew)
        {
            _log.FolderRefused(_folder, _slot.Peek()?.Certificate.Thumbprint ?? "none", error.Message);
        }
    }

    /// <summary>
    /// Reads the three files as one set. kubelet can swap <c>..data</c> between the reads of <c>tls.crt</c>,
    /// <c>tls.key</c> and <c>ca.crt</c> (each resolves the symlink on its own): that would pair one update's
    /// certificate with the next one's key and refuse a Secret that was never broken. When <c>..data</c> moved
    /// during the reads (its targets are new folders each time), the set is read again.
    /// </summary>
    private static ((string Certificate, string Key, string Trust) Pems, byte[] Hash) Read(string folder)
    {
        const int Attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var before = DataTarget(folder);
            try
            {
                var set = ReadOnce(folder);
                if (attempt == Attempts || DataTarget(folder) == before)
                {
                    return set;
                }
            }
            catch (CertificateLoadException) when (attempt < Attempts && DataTarget(folder) != before)
            {
                // The old timestamped folder went away under a read: read the new one.
            }
        }
    }

    /// <summary>Where kubelet's <c>..data</c> symlink points; null in a folder that is not a projected volume.</summary>
    private static string? DataTarget(string folder)
    {
        try
        {
            return new FileInfo(Path.Combine(folder, DataLinkName)).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ((string Certificate, string Key, string Trust) Pems, byte[] Hash) ReadOnce(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new CertificateLoadException($"The certificate folder '{folder}' does not exist. It should hold {PemCredentials.CertificateFileName}, {PemCredentials.KeyFileName} and {PemCredentials.TrustBundleFileName}, as a mounted Kubernetes TLS Secret does.");
        }

        var certificate = PemCredentials.ReadText(Path.Combine(folder, PemCredentials.CertificateFileName), "certificate");
        var key = PemCredentials.ReadText(Path.Combine(folder, PemCredentials.KeyFileName), "private key");
        var trust = PemCredentials.ReadText(Path.Combine(folder, PemCredentials.TrustBundleFileName), "trust bundle");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in new[] { certificate, key, trust })
        {
            hash.AppendData(BitConverter.GetBytes(text.Length));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
        }

        return ((certificate, key, trust), hash.GetHashAndReset());
    }

    /// <summary>Loads a set and checks it is usable now: the key matches, the leaf is valid, and it chains to ca.crt.</summary>
    private static CertificateCredentials Validate(string folder, (string Certificate, string Key, string Trust) pems, DateTimeOffset now)
    {
        var credentials = PemCredentials.FromPem(
            pems.Certificate, pems.Key, pems.Trust,
            Path.Combine(folder, PemCredentials.CertificateFileName),
            Path.Combine(folder, PemCredentials.KeyFileName),
            Path.Combine(folder, PemCredentials.TrustBundleFileName));
        var leaf = credentials.Certificate;
        if (now < leaf.NotBefore.ToUniversalTime() || now > leaf.NotAfter.ToUniversalTime())
        {
            throw new CertificateLoadException($"The certificate in '{folder}' ({leaf.Subject}) is not valid now ({now:u}): it is valid from {leaf.NotBefore.ToUniversalTime():u} to {leaf.NotAfter.ToUniversalTime():u}.");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.AddRange(credentials.TrustBundle);
        chain.ChainPolicy.ExtraStore.AddRange(credentials.Intermediates);
        if (!chain.Build(leaf))
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
            throw new CertificateLoadException($"The certificate in '{folder}' ({leaf.Subject}, issued by {leaf.Issuer}) does not chain to its {PemCredentials.TrustBundleFileName} ({status}).");
        }

        return credentials;
    }
}
