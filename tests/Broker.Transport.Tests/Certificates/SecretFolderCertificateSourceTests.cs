using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// The Secret folder source against folders written as kubelet writes them, behind a real listener and
/// connector. Only the poll timer's clock is fake; it starts at the real now so SslStream accepts the leaves.
/// </summary>
public sealed class SecretFolderCertificateSourceTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);

    // RSA keys take a while to make: the RSA cases share one PKI and its two leaves. (The root is RSA too:
    // CertificateIssuance cannot yet sign an RSA leaf with an EC root; the tests-tls branch fixes that.)
    private static readonly Lazy<(TestPki Pki, CertificateCredentials Backend, CertificateCredentials Frontend)> RsaPki = new(() =>
    {
        var pki = TestPki.Create(algorithm: PrivateKeyAlgorithm.Rsa2048);
        return (pki, pki.Backend(), pki.Frontend());
    });

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_kubelet_update_of_the_backends_Secret_is_taken_within_one_poll_and_old_connections_keep_working()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var first = pki.Backend();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(first));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, Environment = new TransportEnvironment { TimeProvider = time } });
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        var client = Loopback.TlsClient(pki);
        var changes = 0;
        source.CredentialsChanged += (_, _) => changes++;

        await using var before = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(first.Certificate.Thumbprint, before.BackendSeenByClient);

        var second = pki.Backend();
        var stampBefore = folder.Current;
        folder.Write(KubeletSecretFolder.Payload(second));
        Assert.NotEqual(stampBefore, folder.Current);
        Assert.False(Directory.Exists(Path.Combine(folder.Path, stampBefore!)), "kubelet removes the old timestamped folder.");

        // Polled, not watched: nothing changes until the poll.
        await time.AdvanceAndPollAsync(source, Poll - TimeSpan.FromSeconds(1));
        Assert.Equal(first.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
        await time.AdvanceAndPollAsync(source, TimeSpan.FromSeconds(1));
        Assert.Equal(second.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
        Assert.Equal(1, changes);
        Assert.Null(source.LastError);

        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(second.Certificate.Thumbprint, after.BackendSeenByClient);
        await before.PingAsync("old certificate, still open", ct);
        await after.PingAsync("new certificate", ct);

        // Polls that find the same content change nothing.
        await time.AdvanceAndPollAsync(source, Poll * 3);
        Assert.Equal(1, changes);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_kubelet_update_of_the_frontends_Secret_reaches_the_backend_at_the_next_handshake()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var first = pki.Frontend();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(first));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, Environment = new TransportEnvironment { TimeProvider = time } });
        await using var listener = Loopback.ListenTls(pki);
        var client = new TransportConnectorOptions { Certificates = source, ServerIdentity = "localhost" };

        await using var before = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(first.Certificate.Thumbprint, before.FrontendSeenByServer);
        var second = pki.Frontend();
        folder.Write(KubeletSecretFolder.Payload(second));
        await time.AdvanceAndPollAsync(source, Poll);

        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(second.Certificate.Thumbprint, after.FrontendSeenByServer);
        await before.PingAsync("old", ct);
        await after.PingAsync("new", ct);
    }

    public static TheoryData<string> BrokenSets =>
    [
        "tls.crt half-written",
        "tls.key from another renewal",
        "ca.crt without the issuer",
        "not valid yet (clock skew)",
        "tls.key removed from the Secret",
        "tls.crt deleted",
        "ca.crt empty",
    ];

    [Theory(Timeout = TestTimeouts.Hang)]
    [MemberData(nameof(BrokenSets))]
    public async Task A_broken_set_is_refused_the_old_certificate_stays_in_use_and_a_later_good_update_is_taken(string broken)
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var good = pki.Backend();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(good));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, Environment = new TransportEnvironment { TimeProvider = time } });
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        var client = Loopback.TlsClient(pki);
        var version = source.GetCurrent().Version;

        // A frontend connected before the fault keeps exchanging frames through it.
        await using var established = await Link.ConnectAsync(listener, client, ct);
        await established.PingAsync("before the fault", ct);

        var next = pki.Backend();
        var payload = KubeletSecretFolder.Payload(next);
        string[] words;
        switch (broken)
        {
            case "tls.crt half-written":
                payload["tls.crt"] = payload["tls.crt"][..(payload["tls.crt"].Length / 2)];
                words = ["tls.crt", "BEGIN CERTIFICATE"];
                break;
            case "tls.key from another renewal":
                payload["tls.key"] = KubeletSecretFolder.KeyPem(pki.Backend().Certificate, KeyFormat.Pkcs8);
                words = ["tls.key", "does not belong", "tls.crt"];
                break;
            case "ca.crt without the issuer":
                payload["ca.crt"] = KubeletSecretFolder.Roots(TestPki.Create("Another CA").Bundle);
                words = ["does not chain", "ca.crt", "CN=backend"];
                break;
            case "not valid yet (clock skew)":
                var now = DateTimeOffset.UtcNow;
                payload = KubeletSecretFolder.Payload(pki.Backend(spec => spec with { NotBefore = now.AddHours(1), NotAfter = now.AddDays(2) }));
                words = ["not valid now", "valid from"];
                break;
            case "tls.key removed from the Secret":
                payload.Remove("tls.key");
                words = ["private key", "tls.key", "does not exist"];
                break;
            case "tls.crt deleted":
                payload = null!;
                File.Delete(Path.Combine(folder.Path, "tls.crt"));
                words = ["certificate", "tls.crt", "does not exist"];
                break;
            case "ca.crt empty":
                payload["ca.crt"] = string.Empty;
                words = ["ca.crt", "BEGIN CERTIFICATE"];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(broken), broken, null);
        }

        if (payload is not null)
        {
            folder.Write(payload);
        }

        Assert.False(source.CheckNow());
        var error = Assert.IsType<CertificateLoadException>(source.LastError);
        foreach (var word in words)
        {
            Assert.Contains(word, error.Message, StringComparison.Ordinal);
        }

        // The poll refuses it again; the good set stays in use for new handshakes.
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.NotNull(source.LastError);
        Assert.Equal(version, source.GetCurrent().Version);
        await using (var link = await Link.ConnectAsync(listener, client, ct))
        {
            Assert.Equal(good.Certificate.Thumbprint, link.BackendSeenByClient);
        }

        await established.PingAsync("during the fault", ct);

        // A good update afterwards is taken at the next poll.
        var fixedSet = pki.Backend();
        folder.Write(KubeletSecretFolder.Payload(fixedSet));
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastError);
        Assert.Equal(fixedSet.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
        await using (var link = await Link.ConnectAsync(listener, client, ct))
        {
            Assert.Equal(fixedSet.Certificate.Thumbprint, link.BackendSeenByClient);
        }

        await established.PingAsync("after the fix", ct);
        Assert.Equal(good.Certificate.Thumbprint, established.BackendSeenByClient);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_set_refused_for_clock_skew_is_taken_once_it_becomes_valid_without_changing()
    {
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        var time = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, Environment = new TransportEnvironment { TimeProvider = time } });
        var start = time.GetUtcNow();
        var early = pki.Backend(spec => spec with { NotBefore = start.AddSeconds(35), NotAfter = start.AddDays(2) });
        folder.Write(KubeletSecretFolder.Payload(early));

        // Polls at 10, 20 and 30 s refuse it; the one at 40 s takes the same files.
        await time.AdvanceAndPollAsync(source, Poll * 3);
        Assert.Contains("not valid now", source.LastError?.Message, StringComparison.Ordinal);
        Assert.NotEqual(early.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastError);
        Assert.Equal(early.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
    }

    [Fact]
    public void Open_on_a_missing_folder_or_file_fails_naming_the_path()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-secret-" + Guid.NewGuid().ToString("N"));
        var folderError = Assert.Throws<CertificateLoadException>(() => SecretFolderCertificateSource.Open(missing));
        Assert.Contains(missing, folderError.Message, StringComparison.Ordinal);

        var payload = KubeletSecretFolder.Payload(TestPki.Create().Backend());
        payload.Remove("tls.key");
        using var folder = new KubeletSecretFolder(payload);
        var fileError = Assert.Throws<CertificateLoadException>(() => SecretFolderCertificateSource.Open(folder.Path));
        Assert.Contains(Path.Combine(folder.Path, "tls.key"), fileError.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", fileError.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(PrivateKeyAlgorithm.Ec256, KeyFormat.Pkcs1, "-----BEGIN EC PRIVATE KEY-----")]
    [InlineData(PrivateKeyAlgorithm.Ec256, KeyFormat.Pkcs8, "-----BEGIN PRIVATE KEY-----")]
    [InlineData(PrivateKeyAlgorithm.Rsa2048, KeyFormat.Pkcs1, "-----BEGIN RSA PRIVATE KEY-----")]
    [InlineData(PrivateKeyAlgorithm.Rsa2048, KeyFormat.Pkcs8, "-----BEGIN PRIVATE KEY-----")]
    public async Task PKCS1_and_PKCS8_keys_both_serve_handshakes(PrivateKeyAlgorithm algorithm, KeyFormat format, string header)
    {
        var ct = TestContext.Current.CancellationToken;
        var (pki, backend, frontend) = algorithm == PrivateKeyAlgorithm.Rsa2048 ? RsaPki.Value : NewEc();

        var payload = KubeletSecretFolder.Payload(backend, format);
        Assert.StartsWith(header, payload["tls.key"], StringComparison.Ordinal);
        using var folder = new KubeletSecretFolder(payload);
        using var source = SecretFolderCertificateSource.Open(folder.Path);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });

        await using var link = await Link.ConnectAsync(listener, Loopback.TlsClient(pki, frontend), ct);
        Assert.Equal(backend.Certificate.Thumbprint, link.BackendSeenByClient);
        await link.PingAsync(header, ct);

        static (TestPki, CertificateCredentials, CertificateCredentials) NewEc()
        {
            var pki = TestPki.Create();
            return (pki, pki.Backend(), pki.Frontend());
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_tls_crt_with_an_intermediate_keeps_the_chain_and_peers_trusting_only_the_root_accept_it()
    {
        var ct = TestContext.Current.CancellationToken;
        // The internal issuer's roots (and TestPki's) allow no intermediate (path length 0): an operator's PKI may.
        using var root = Ca("Operator Root CA", issuer: null);
        using var intermediate = Ca("Operator Intermediate CA", root);
        var leaf = CertificateIssuance.IssueLeaf(intermediate, CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256), TestPki.DefaultLeaf("backend", ["localhost"], server: true, client: false));
        var credentials = new CertificateCredentials(leaf, [X509CertificateLoader.LoadCertificate(intermediate.RawData)], [X509CertificateLoader.LoadCertificate(root.RawData)]);
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(credentials));
        using var source = SecretFolderCertificateSource.Open(folder.Path);

        var current = source.GetCurrent();
        Assert.Equal(leaf.Thumbprint, current.Certificate.Thumbprint);
        Assert.Equal(intermediate.Thumbprint, Assert.Single(current.Intermediates).Thumbprint);
        Assert.Equal(root.Thumbprint, Assert.Single(current.TrustBundle).Thumbprint);

        // The frontend trusts the root alone and downloads nothing: it can only build the chain if the
        // backend sends the intermediate from tls.crt. Its own leaf comes from the intermediate too.
        var frontendLeaf = CertificateIssuance.IssueLeaf(intermediate, CertificateIssuance.CreateKey(PrivateKeyAlgorithm.Ec256), TestPki.DefaultLeaf("frontend", ["frontend"], server: false, client: true));
        var frontend = new CertificateCredentials(frontendLeaf, [X509CertificateLoader.LoadCertificate(intermediate.RawData)], [X509CertificateLoader.LoadCertificate(root.RawData)]);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        await using var link = await Link.ConnectAsync(listener, new TransportConnectorOptions { Certificates = new StaticCertificateSource(frontend), ServerIdentity = "localhost" }, ct);
        Assert.Equal(frontendLeaf.Thumbprint, link.FrontendSeenByServer);
        Assert.Equal(leaf.Thumbprint, link.BackendSeenByClient);
        await link.PingAsync("through the intermediate", ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_kubelet_helper_swaps_atomically_a_reader_never_finds_the_files_mixed()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var sets = new[] { KubeletSecretFolder.Payload(pki.Backend()), KubeletSecretFolder.Payload(pki.Backend()) };
        using var folder = new KubeletSecretFolder(sets[0]);
        var writing = true;
        var reads = 0;
        var problems = 0;
        var gone = 0;
        var reader = Task.Factory.StartNew(
            () =>
            {
                while (Volatile.Read(ref writing))
                {
                    // As with kubelet, the old timestamped folder is removed right after the swap, so a reader
                    // that resolved ..data just before it may find its file gone (the Secret folder source
                    // reads again then). What it must never find is a partial or mixed file.
                    string text;
                    try
                    {
                        text = File.ReadAllText(Path.Combine(folder.Path, "tls.crt"));
                    }
                    catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                    {
                        Interlocked.Increment(ref gone);
                        continue;
                    }

                    if (text != sets[0]["tls.crt"] && text != sets[1]["tls.crt"])
                    {
                        Interlocked.Increment(ref problems);
                    }

                    Interlocked.Increment(ref reads);
                }
            },
            ct,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        // Swap while the reader reads, until both did plenty (a reader that throws ends the loop too).
        var guard = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 1; (i <= 60 || Volatile.Read(ref reads) < 1000) && !reader.IsCompleted; i++)
        {
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(60), "Hang guard: the reader made no progress.");
            folder.Write(sets[i % 2]);
        }

        Volatile.Write(ref writing, false);
        await reader.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(0, problems);
        Assert.True(reads >= 1000, $"Only {reads} whole reads ({gone} found the old folder gone).");
        Assert.Single(Directory.GetDirectories(folder.Path, "..20*"));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_poll_during_kubelet_swaps_never_refuses_a_good_set()
    {
        // kubelet swaps ..data between a poll's reads of tls.crt, tls.key and ca.crt: the source must not
        // pair one set's certificate with the other's key and refuse a Secret that was never broken.
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        var sets = new[] { KubeletSecretFolder.Payload(pki.Backend()), KubeletSecretFolder.Payload(pki.Backend()) };
        using var folder = new KubeletSecretFolder(sets[0]);
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1) });
        var writing = true;
        var writer = Task.Factory.StartNew(
            () =>
            {
                for (var i = 1; Volatile.Read(ref writing); i++)
                {
                    folder.Write(sets[i % 2]);
                }
            },
            ct,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        // Poll until kubelet swapped 100 times and the source polled 1000 times.
        var refusals = new List<string>();
        var polls = 0;
        var guard = System.Diagnostics.Stopwatch.StartNew();
        while ((polls < 1000 || folder.Updates < 100) && !writer.IsCompleted)
        {
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(60), $"Hang guard: {polls} polls, {folder.Updates} swaps.");
            source.CheckNow();
            polls++;
            if (source.LastError is { } error)
            {
                refusals.Add(error.Message);
            }
        }

        Volatile.Write(ref writing, false);
        await writer.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(refusals.Count == 0, $"{refusals.Count} of {polls} polls refused a good set, first: {refusals.FirstOrDefault()}");
    }

    /// <summary>A CA with its private key: self-signed when <paramref name="issuer"/> is null, else signed by it.</summary>
    private static X509Certificate2 Ca(string name, X509Certificate2? issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, issuer is not null, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        if (issuer is null)
        {
            return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using var signed = request.Create(issuer, now.AddHours(-2), now.AddDays(20), RandomNumberGenerator.GetBytes(12));
        return signed.CopyWithPrivateKey(key);
    }
}
