using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// What a Secret folder source reads, and how long it may take: real FIFOs, devices, huge files and a read that
/// really blocks (a file under a lease another process holds: open(2) waits, as on a hung network or FUSE mount).
/// Each case is then mended with a valid update, which the next poll must take.
/// </summary>
[Collection(RunsAlone.Name)] // Counts the process's threads.
public sealed class BoundedReadingTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    [Fact(Timeout = 120_000)]
    public async Task A_tls_key_that_is_a_FIFO_is_refused_at_every_poll_without_blocking_reported_once_and_the_next_valid_update_is_taken()
    {
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, logs) = setup;

        // An update whose tls.key is a named pipe nobody writes to: opening it for reading would wait forever.
        folder.Write(KubeletSecretFolder.Payload(pki.Backend()));
        var fifo = Path.Combine(folder.Path, folder.Current!, "tls.key");
        File.Delete(fifo);
        MakeFifo(fifo);

        var threads = ThreadPool.ThreadCount;
        for (var i = 0; i < 30; i++)
        {
            await time.AdvanceAndPollAsync(source, Poll);
        }

        var error = Assert.IsType<CertificateLoadException>(source.LastError);
        Assert.Equal($"The private key file '{Path.Combine(folder.Path, "tls.key")}' is a named pipe (FIFO), not a regular file: only regular files are read (a pipe or a device can block a reader or never end). A mounted Secret's files are regular files behind symlinks.", error.Message);
        Assert.Equal(30, source.ReadsStarted);
        Assert.True(ThreadPool.ThreadCount <= threads + 3, $"The thread pool grew from {threads} to {ThreadPool.ThreadCount} threads over 30 polls.");
        var refusal = Assert.Single(logs.Events(111));
        Assert.Contains(error.Message, refusal.Message, StringComparison.Ordinal);

        await AssertNextValidUpdateIsTakenAsync(pki, folder, source, time);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_read_that_blocks_costs_one_pending_read_however_many_polls_pass_is_reported_once_and_the_next_valid_update_is_taken()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, logs) = setup;

        // A valid update, whose tls.key another process holds a write lease on: our open(2) of it blocks until the
        // lease is given up (or the kernel's lease-break-time, 45 s, passes), like a read on a hung mount.
        var next = pki.Backend();
        folder.Write(KubeletSecretFolder.Payload(next));
        var key = Path.Combine(folder.Path, folder.Current!, "tls.key");
        await using var holder = ChildProcess.Start("perl", ["-e", LeaseHolder, key]);
        await holder.WaitForLineAsync("^leased$", Guard.HangTimeout);

        var threads = ThreadPool.ThreadCount;
        for (var i = 0; i < 20; i++)
        {
            // The poll waits for the read; the read timeout, on the same fake clock, ends the wait. The first time,
            // the kernel tells the lease holder (SIGIO) once our open(2) of the file is blocked.
            time.Advance(Poll);
            if (i == 0)
            {
                await holder.WaitForLineAsync("^breaking$", Guard.HangTimeout);
            }

            time.Advance(ReadTimeout);
            await source.Polling.WaitAsync(Guard.HangTimeout, ct);
            Assert.Contains("did not finish within 5 s (ReadTimeout)", source.LastError?.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, source.ReadsStarted);
        Assert.True(ThreadPool.ThreadCount <= threads + 3, $"The thread pool grew from {threads} to {ThreadPool.ThreadCount} threads over 20 polls of a stuck read.");
        Assert.Equal($"Reading the certificates in '{folder.Path}' did not finish within 5 s (ReadTimeout); it was stuck on '{Path.Combine(folder.Path, "tls.key")}'. A file whose reads block (a hung network or FUSE mount)? The read goes on in the background, no other starts until it ends, and the last good set stays in use.", source.LastError!.Message);
        Assert.Single(logs.Events(111));

        // Handshakes go on with the last good set meanwhile.
        await using (var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source, Environment = new TransportEnvironment { TimeProvider = time } }))
        {
            await using var link = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
            await link.PingAsync("while a read is stuck", ct);
        }

        // The mount answers again: the stuck read ends (its result, stale by now, is dropped) and the next poll
        // reads afresh and takes the update.
        await holder.DisposeAsync();
        await WaitUntilAsync(() => Task.FromResult(source.CheckNow() || source.GetCurrent().Thumbprint == next.Certificate.Thumbprint), "the update once the lease was given up");
        Assert.Equal(next.Certificate.Thumbprint, source.GetCurrent().Thumbprint);
        Assert.Null(source.LastError);
        Assert.InRange(source.ReadsStarted, 1, 2); // the stuck read's result, if it ended during a poll; else one more
    }

    [Fact(Timeout = 120_000)]
    public async Task A_tls_key_symlinked_to_dev_zero_is_refused_without_a_byte_read()
    {
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, _) = setup;
        folder.Write(KubeletSecretFolder.Payload(pki.Backend()));
        var key = Path.Combine(folder.Path, folder.Current!, "tls.key");
        File.Delete(key);
        File.CreateSymbolicLink(key, "/dev/zero");

        var before = GC.GetTotalAllocatedBytes(precise: true);
        await time.AdvanceAndPollAsync(source, Poll);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Contains("is a character device, not a regular file", source.LastError?.Message, StringComparison.Ordinal);
        Assert.True(allocated < 16 * 1024 * 1024, $"The poll allocated {allocated:N0} bytes.");
        await AssertNextValidUpdateIsTakenAsync(pki, folder, source, time);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_50_MB_ca_crt_is_refused_by_its_size_before_it_is_read()
    {
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, logs) = setup;
        folder.Write(KubeletSecretFolder.Payload(pki.Backend()));
        var bundle = Path.Combine(folder.Path, folder.Current!, "ca.crt");
        using (var file = new FileStream(bundle, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(50 * 1024 * 1024);
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < 5; i++)
        {
            await time.AdvanceAndPollAsync(source, Poll);
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal($"The trust bundle file '{Path.Combine(folder.Path, "ca.crt")}' is 52,428,800 bytes; at most 4,194,304 bytes (4 MiB) are read from a trust bundle file. Is it the right file?", source.LastError?.Message);
        Assert.True(allocated < 16 * 1024 * 1024, $"Five polls allocated {allocated:N0} bytes: the file was read.");
        Assert.Single(logs.Events(111));
        await AssertNextValidUpdateIsTakenAsync(pki, folder, source, time);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_ca_crt_of_10001_roots_is_refused_and_one_of_1001_is_refused_by_its_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, _) = setup;
        var many = Roots(pki, 10_001);

        folder.Write(KubeletSecretFolder.Payload(pki.Backend(), trust: many));
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Contains("at most 4,194,304 bytes (4 MiB) are read from a trust bundle file", source.LastError?.Message, StringComparison.Ordinal);

        folder.Write(KubeletSecretFolder.Payload(pki.Backend(), trust: [.. many.Take(1001)]));
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Equal($"'{Path.Combine(folder.Path, "ca.crt")}' holds 1,001 certificates; at most 1,000 are accepted (every handshake checks the peer against the whole bundle).", source.LastError?.Message);

        // 1,000 is the bound, and works: handshakes against it, and a refusal that names three roots.
        var thousand = pki.Backend();
        folder.Write(KubeletSecretFolder.Payload(thousand, trust: [.. many.Take(1000)]));
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastError);
        Assert.Equal(1000, source.GetCurrent().TrustBundle.Count);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source, Environment = new TransportEnvironment { TimeProvider = time } });
        await using var link = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        Assert.Equal(thousand.Certificate.Thumbprint, link.BackendSeenByClient);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_missing_file_is_reported_once_not_at_every_poll_and_LastError_clears_when_the_folder_is_whole_again()
    {
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var setup = Open(folder);
        var (source, time, logs) = setup;
        var good = source.GetCurrent().Thumbprint;
        var certificate = Path.Combine(folder.Path, folder.Current!, "tls.crt");
        var saved = File.ReadAllText(certificate);
        File.Delete(certificate);

        for (var i = 0; i < 10; i++)
        {
            await time.AdvanceAndPollAsync(source, Poll);
        }

        Assert.Contains("does not exist", source.LastError?.Message, StringComparison.Ordinal);
        Assert.Single(logs.Events(111));

        // The same set as the one in use comes back: nothing stands refused, nothing was reloaded.
        File.WriteAllText(certificate, saved);
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastError);
        Assert.Equal(good, source.GetCurrent().Thumbprint);
        Assert.Empty(logs.Events(110));

        // Another cause is news: reported once more.
        File.Delete(certificate);
        File.WriteAllText(certificate, "not a certificate");
        await time.AdvanceAndPollAsync(source, Poll);
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Equal(2, logs.Events(111).Count);
    }

    // Holds a write lease (F_SETLEASE 1024, F_WRLCK 1) on the file until killed, saying "breaking" when the kernel
    // asks for it back (SIGIO: another process's open of the file is waiting), and never giving it up.
    private const string LeaseHolder = "$|=1; $SIG{IO} = sub { print \"breaking\\n\" }; open(my $f, '<', $ARGV[0]) or die \"open: $!\"; fcntl($f, 1024, 1) or die \"lease: $!\"; print \"leased\\n\"; sleep 600 while 1;";

    private static async Task AssertNextValidUpdateIsTakenAsync(TestPki pki, KubeletSecretFolder folder, SecretFolderCertificateSource source, FakeTimeProvider time)
    {
        var next = pki.Backend();
        folder.Write(KubeletSecretFolder.Payload(next));
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastError);
        Assert.Equal(next.Certificate.Thumbprint, source.GetCurrent().Thumbprint);
    }

    private static X509Certificate2Collection Roots(TestPki pki, int count)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var roots = new X509Certificate2Collection(pki.Root);
        for (var i = 1; i < count; i++)
        {
            roots.Add(CertificateIssuance.CreateRoot($"Other Root {i}", key, now.AddDays(-1), now.AddDays(1)));
        }

        return roots;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Guard.HangTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited {Guard.HangTimeout.TotalSeconds:0} s for {what}.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_trust_bundle_that_is_a_FIFO_is_refused_at_every_poll_without_blocking_reported_once_and_a_good_one_is_taken()
    {
        // The trust bundle is read as the Secret is (the same bounded read): a ConfigMap key that is a named pipe
        // would block its reader forever.
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var bundle = new KubeletSecretFolder(new Dictionary<string, string> { ["ca.crt"] = KubeletSecretFolder.Roots(pki.Bundle) });
        var time = Issuers.ClockAtRealNow();
        var logs = new LogCapture();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, ReadTimeout = ReadTimeout, TrustBundlePath = bundle.Path, Environment = new TransportEnvironment { TimeProvider = time, LoggerFactory = logs } });
        bundle.Write(new Dictionary<string, string> { ["ca.crt"] = KubeletSecretFolder.Roots(pki.Bundle) + "\n" });
        var fifo = Path.Combine(bundle.Path, bundle.Current!, "ca.crt");
        File.Delete(fifo);
        MakeFifo(fifo);

        for (var i = 0; i < 10; i++)
        {
            await time.AdvanceAndPollAsync(source, Poll);
        }

        var error = Assert.IsType<CertificateLoadException>(source.LastTrustBundleError);
        Assert.Contains("is a named pipe (FIFO), not a regular file", error.Message, StringComparison.Ordinal);
        Assert.Equal(10, source.BundleReadsStarted);
        Assert.Null(source.LastError);
        Assert.Single(logs.Events(118));
        Assert.Single(source.GetTrustBundle());

        var other = TestPki.Create("Another CA");
        bundle.Write(new Dictionary<string, string> { ["ca.crt"] = KubeletSecretFolder.Roots([pki.Root, other.Root]) });
        await time.AdvanceAndPollAsync(source, Poll);
        Assert.Null(source.LastTrustBundleError);
        Assert.Equal(2, source.GetTrustBundle().Count);
    }

    private static Setup Open(KubeletSecretFolder folder)
    {
        var time = Issuers.ClockAtRealNow();
        var logs = new LogCapture();
        var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = Poll, ReadTimeout = ReadTimeout, Environment = new TransportEnvironment { TimeProvider = time, LoggerFactory = logs } });
        return new Setup(source, time, logs);
    }

    private static void MakeFifo(string path)
    {
        Assert.True(mkfifo(path, Convert.ToUInt32("600", 8)) == 0, $"mkfifo({path}) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

#pragma warning disable SYSLIB1054, CA2101 // DllImport: a string and an int need no generated stub; LPUTF8Str is explicit.
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
#pragma warning restore SYSLIB1054, CA2101

    private sealed record Setup(SecretFolderCertificateSource Source, FakeTimeProvider Time, LogCapture Logs) : IDisposable
    {
        public void Dispose() => Source.Dispose();
    }
}
