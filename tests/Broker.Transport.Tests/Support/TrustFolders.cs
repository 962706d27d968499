using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A side's Secret folder and, when asked, a ConfigMap folder with its trust bundle (the key <c>ca.crt</c>, as
/// Azure IoT Operations' trust bundle has), both written as kubelet writes projected volumes, read by one
/// <see cref="SecretFolderCertificateSource"/> on a fake clock at the real now.
/// </summary>
internal sealed class TrustFolders : IDisposable
{
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan Handover = new SecretFolderOptions().RootHandover;

    private TrustFolders(KubeletSecretFolder secret, KubeletSecretFolder? bundle, FakeTimeProvider time, LogCapture logs, SecretFolderCertificateSource source)
    {
        Secret = secret;
        Bundle = bundle;
        Time = time;
        Logs = logs;
        Source = source;
        source.TrustBundleChanged += (_, _) => Interlocked.Increment(ref _trustChanges);
        _nextPoll = time.GetUtcNow() + Poll;
    }

    private int _trustChanges;
    private DateTimeOffset _nextPoll;

    public KubeletSecretFolder Secret { get; }

    /// <summary>The ConfigMap folder; null when the Secret's ca.crt is the trust bundle.</summary>
    public KubeletSecretFolder? Bundle { get; }

    public FakeTimeProvider Time { get; }

    public LogCapture Logs { get; }

    public SecretFolderCertificateSource Source { get; }

    /// <summary>How many times <see cref="SecretFolderCertificateSource.TrustBundleChanged"/> was raised.</summary>
    public int TrustChanges => Volatile.Read(ref _trustChanges);

    /// <summary>A Secret with <paramref name="first"/> (and its own roots in ca.crt, or <paramref name="secretRoots"/>), and a bundle with <paramref name="bundle"/> when given.</summary>
    public static TrustFolders Open(CertificateCredentials first, X509Certificate2Collection? bundle = null, TimeSpan? handover = null, X509Certificate2Collection? secretRoots = null, FakeTimeProvider? time = null)
    {
        var secret = new KubeletSecretFolder(KubeletSecretFolder.Payload(first, trust: secretRoots));
        var configMap = bundle is null ? null : new KubeletSecretFolder(BundlePayload(bundle));
        time ??= Issuers.ClockAtRealNow();
        var logs = new LogCapture();
        var source = SecretFolderCertificateSource.Open(secret.Path, new SecretFolderOptions
        {
            PollInterval = Poll,
            RootHandover = handover ?? Handover,
            TrustBundlePath = configMap?.Path,
            Environment = new TransportEnvironment { TimeProvider = time, LoggerFactory = logs },
        });
        return new TrustFolders(secret, configMap, time, logs, source);
    }

    /// <summary>A ConfigMap's payload as a trust-manager Bundle writes it: one key with the roots in PEM.</summary>
    public static Dictionary<string, string> BundlePayload(X509Certificate2Collection roots, string key = "ca.crt")
        => new() { [key] = KubeletSecretFolder.Roots(roots) };

    /// <summary>kubelet projects a new Secret: the leaf and, in ca.crt, its own roots (or <paramref name="roots"/>).</summary>
    public void WriteSecret(CertificateCredentials credentials, X509Certificate2Collection? roots = null)
        => Secret.Write(KubeletSecretFolder.Payload(credentials, trust: roots));

    /// <summary>kubelet projects a new ConfigMap with <paramref name="roots"/>.</summary>
    public void WriteBundle(X509Certificate2Collection roots)
        => (Bundle ?? throw new InvalidOperationException("This side reads its Secret's ca.crt.")).Write(BundlePayload(roots));

    /// <summary>Advances to the next poll and waits for it (a poll reads on another thread).</summary>
    public Task PollAsync() => AdvanceAsync(_nextPoll - Time.GetUtcNow());

    /// <summary>
    /// Advances the clock by <paramref name="by"/>, stopping at every poll on the way until it has finished: the
    /// clock never moves while a poll reads (its read timeout runs on the same clock), so each poll takes what the
    /// folders held at its own instant.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        var target = Time.GetUtcNow() + by;
        while (Time.GetUtcNow() < target)
        {
            var to = _nextPoll <= target ? _nextPoll : target;
            Time.Advance(to - Time.GetUtcNow());
            if (to == _nextPoll)
            {
                _nextPoll += Poll;
                await Source.Polling.WaitAsync(Guard.HangTimeout, TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>The thumbprints of the roots trusted now, in order.</summary>
    public string[] Trusted() => [.. Source.GetTrustBundle().Select(r => r.Thumbprint).Order(StringComparer.Ordinal)];

    /// <summary>The event ids logged, in order, from the trust and certificate categories.</summary>
    public int[] Steps() => [.. Logs.Lines.Select(l => l.EventId)];

    public void Dispose()
    {
        Source.Dispose();
        Secret.Dispose();
        Bundle?.Dispose();
    }

    /// <summary>The thumbprints of <paramref name="roots"/>, in order, as <see cref="Trusted"/> gives them.</summary>
    public static string[] Thumbprints(params X509Certificate2[] roots) => [.. roots.Select(r => r.Thumbprint).Order(StringComparer.Ordinal)];
}
